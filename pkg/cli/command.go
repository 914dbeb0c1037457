package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Env is what a command sees of the outside world, so tests can call it
// directly with buffers instead of the process's streams.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Command is one subcommand in a tool's explicit table: a leaf that Run
// carries out, or a group (such as "image format|verify|...") whose own
// table, Commands, names what its first argument selects. A group has no
// Run; the tool dispatches into it, with its usage, errors and --help, as
// it dispatches its top level.
type Command struct {
	Name     string
	Summary  string // one line for the tool's (or the group's) help
	Run      func(ctx context.Context, env Env, args []string) error
	Commands []Command
}

// Tool is an executable made of subcommands.
type Tool struct {
	Name     string
	Summary  string
	Commands []Command
}

// Main runs the tool and returns its exit status. Errors are printed as one
// line "tool: message" on stderr.
func (t *Tool) Main(ctx context.Context, env Env, args []string) int {
	err := t.run(ctx, env, args)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "%s: %s\n", t.Name, oneLine(err.Error()))
	return Code(err)
}

func (t *Tool) run(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		t.usage(env.Stderr)
		return Usagef("no command given")
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		t.usage(env.Stdout)
		return nil
	case "--version":
		if len(args) > 1 {
			return Usagef("--version takes no arguments")
		}
		printVersion(env.Stdout, t.Name)
		return nil
	}
	if c := find(t.Commands, name); c != nil {
		return t.runCommand(ctx, env, []string{name}, c, args[1:])
	}
	return Usagef("unknown command %q (see %s --help)", name, t.Name)
}

// runCommand runs a leaf, or dispatches a group's first argument; path is
// the command's words after the tool's name ("image").
func (t *Tool) runCommand(ctx context.Context, env Env, path []string, c *Command, args []string) error {
	if c.Run != nil {
		return c.Run(ctx, env, args)
	}
	words := strings.Join(path, " ")
	if len(c.Commands) == 0 {
		return fmt.Errorf("%s: command has neither Run nor Commands", words)
	}
	if len(args) == 0 {
		t.groupUsage(env.Stderr, words, c.Commands)
		return Usagef("%s: no command given (%s)", words, strings.Join(names(c.Commands), ", "))
	}
	switch args[0] {
	case "-h", "--help", "help":
		t.groupUsage(env.Stdout, words, c.Commands)
		return nil
	}
	if sub := find(c.Commands, args[0]); sub != nil {
		return t.runCommand(ctx, env, append(path[:len(path):len(path)], sub.Name), sub, args[1:])
	}
	return Usagef("%s: unknown command %q (see %s %s --help)", words, args[0], t.Name, words)
}

func find(cmds []Command, name string) *Command {
	for i := range cmds {
		if cmds[i].Name == name {
			return &cmds[i]
		}
	}
	return nil
}

func names(cmds []Command) []string {
	n := make([]string, len(cmds))
	for i, c := range cmds {
		n[i] = c.Name
	}
	return n
}

func (t *Tool) usage(w io.Writer) {
	fmt.Fprintf(w, "%s: %s\n\nUsage: %s COMMAND [options]\n       %s --version\n\nCommands:\n", t.Name, t.Summary, t.Name, t.Name)
	cmds := append([]Command(nil), t.Commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\n%s\nRun '%s COMMAND --help' for a command's options.\n", ExitStatusHelp, t.Name)
}

// groupUsage lists a group's commands in the order of its table (the order
// a user meets them in: format before verify before open).
func (t *Tool) groupUsage(w io.Writer, words string, cmds []Command) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	fmt.Fprintf(w, "Usage: %s %s COMMAND [options]\n\nCommands:\n", t.Name, words)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s %s\n", width+2, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\n%s\nRun '%s %s COMMAND --help' for a command's options.\n", ExitStatusHelp, t.Name, words)
}

// ExitStatusHelp is the paragraph every --help ends with.
const ExitStatusHelp = `Exit status:
  0  success
  1  verification failed
  2  usage or input error`

// NewFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage, with the exit statuses, to env.Stdout on --help.
func NewFlagSet(env Env, tool, cmd, synopsis, description string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(tool+" "+cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: %s %s %s\n\n%s\n\nOptions:\n%s\n%s\n",
			tool, cmd, synopsis, description, fs.FlagUsages(), ExitStatusHelp)
	}
	return fs
}

// Parse parses args, turning flag errors into usage errors; --help prints
// the usage and returns pflag.ErrHelp, which Main treats as success.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err // pflag has already printed the usage
		}
		return Usage(err)
	}
	return nil
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
