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

// Command is one subcommand in a tool's explicit table.
type Command struct {
	Name    string
	Summary string // one line for the tool's help
	Run     func(ctx context.Context, env Env, args []string) error
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
	for _, c := range t.Commands {
		if c.Name == name {
			return c.Run(ctx, env, args[1:])
		}
	}
	return Usagef("unknown command %q (see %s --help)", name, t.Name)
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
