package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// testTool has a leaf at the top and a group of two leaves; each leaf
// prints its path and arguments, "fail" returns a verification failure.
func testTool() *Tool {
	leaf := func(name string) func(context.Context, Env, []string) error {
		return func(_ context.Context, env Env, args []string) error {
			env.Stdout.Write([]byte(name + " " + strings.Join(args, ",") + "\n"))
			if len(args) > 0 && args[0] == "fail" {
				return Failedf("%s failed", name)
			}
			return nil
		}
	}
	return &Tool{
		Name:    "t",
		Summary: "a test tool",
		Commands: []Command{
			{Name: "top", Summary: "a leaf", Run: leaf("top")},
			{Name: "grp", Summary: "a group", Commands: []Command{
				{Name: "verify", Summary: "second in the table", Run: leaf("grp verify")},
				{Name: "format", Summary: "first alphabetically", Run: leaf("grp format")},
			}},
			{Name: "empty", Summary: "neither Run nor Commands"},
		},
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string // substrings
	}{
		{args: []string{"top", "a", "b"}, stdout: "top a,b\n"},
		{args: []string{"top", "fail"}, code: ExitFailed, stderr: "t: top failed\n"},
		{args: []string{"grp", "format", "x"}, stdout: "grp format x\n"},
		{args: []string{"grp", "verify", "fail"}, code: ExitFailed, stderr: "t: grp verify failed\n"},
		{args: nil, code: ExitUsage, stderr: "t: no command given\n"},
		{args: []string{"nope"}, code: ExitUsage, stderr: `t: unknown command "nope" (see t --help)`},
		{args: []string{"grp"}, code: ExitUsage, stderr: "t: grp: no command given (verify, format)\n"},
		{args: []string{"grp", "nope"}, code: ExitUsage, stderr: `t: grp: unknown command "nope" (see t grp --help)`},
		{args: []string{"--help"}, stdout: "t: a test tool\n\nUsage: t COMMAND [options]\n       t --version\n\nCommands:\n  empty        neither Run nor Commands\n  grp          a group\n  top          a leaf\n"},
		// A group lists its commands in table order, aligned on the longest name.
		{args: []string{"grp", "--help"}, stdout: "Usage: t grp COMMAND [options]\n\nCommands:\n  verify   second in the table\n  format   first alphabetically\n\nExit status:"},
		{args: []string{"grp", "help"}, stdout: "Run 't grp COMMAND --help' for a command's options.\n"},
		{args: []string{"empty"}, code: ExitUsage, stderr: "t: empty: command has neither Run nor Commands\n"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := testTool().Main(context.Background(), Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, tt.args)
		if code != tt.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if !strings.Contains(out.String(), tt.stdout) {
			t.Errorf("%q: stdout %q, want it to contain %q", tt.args, out.String(), tt.stdout)
		}
		if !strings.Contains(errb.String(), tt.stderr) {
			t.Errorf("%q: stderr %q, want it to contain %q", tt.args, errb.String(), tt.stderr)
		}
	}
}

// A group without a command prints its usage on stderr, not stdout, so a
// script capturing stdout gets nothing.
func TestGroupUsageOnStderr(t *testing.T) {
	var out, errb bytes.Buffer
	testTool().Main(context.Background(), Env{Stdout: &out, Stderr: &errb}, []string{"grp"})
	if out.Len() != 0 || !strings.Contains(errb.String(), "Usage: t grp COMMAND") {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

func TestCode(t *testing.T) {
	plain := errors.New("plain")
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{plain, ExitUsage},
		{Usage(plain), ExitUsage},
		{Failed(plain), ExitFailed},
		{Failedf("x: %w", plain), ExitFailed},
		{Usagef("x: %w", plain), ExitUsage},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if tt.err != nil && !errors.Is(tt.err, plain) {
			t.Errorf("%v does not wrap its cause", tt.err)
		}
	}
}
