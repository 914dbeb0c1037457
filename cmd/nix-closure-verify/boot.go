package main

import (
	"context"
	"fmt"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

func bootCommand() cli.Command {
	return cli.Command{Name: "boot", Summary: "run the checks the kernel command line asks for, from an initrd", Run: runBoot}
}

const bootHelp = `Runs, from an initrd before it switches root, the checks that the (signed)
kernel command line asks for with nix-closure-verify.* parameters: the store
under nix-closure-verify.root against the closure manifest, and the opening of
a dm-verity store image. Needs no shell. On success it prints one line per
check; on failure it prints what failed and why, then carries out
nix-closure-verify.on-failure: halt (default: power off), warn (continue),
shell (emergency shell, then continue) or fail (exit 1 and let the caller
decide). Parameters are listed in README.md.`

func runBoot(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "boot", "[--cmdline FILE]", bootHelp)
	cmdlinePath := fs.String("cmdline", "/proc/cmdline", "read the kernel command line from FILE")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	machine := bootcheck.RealMachine{Console: consoleFile(env)}
	cmdline, err := os.ReadFile(*cmdlinePath)
	if err != nil {
		// Without the command line we cannot know what to check: stop, as
		// the default action would.
		return finishBoot(bootcheck.Fail(bootcheck.ActionHalt, fmt.Errorf("reading kernel command line: %w", err), env.Stdout, machine))
	}
	cfg, err := bootcheck.ParseConfig(string(cmdline))
	if err != nil {
		return finishBoot(bootcheck.Fail(cfg.OnFailure, err, env.Stdout, machine))
	}
	if !cfg.Enabled {
		fmt.Fprintf(env.Stdout, "%s: no %s.* parameters on the kernel command line: nothing to check\n", toolName, bootcheck.Prefix)
		return nil
	}
	if err := bootcheck.Run(ctx, cfg, openStoreImage, env.Stdout); err != nil {
		return finishBoot(bootcheck.Fail(cfg.OnFailure, err, env.Stdout, machine))
	}
	return nil
}

// finishBoot turns the outcome of a failure action into the exit status:
// 0 when the boot may continue, 1 when it may not.
func finishBoot(err error) error {
	if err != nil {
		return cli.Failed(err)
	}
	return nil
}

func consoleFile(env cli.Env) *os.File {
	if f, ok := env.Stdout.(*os.File); ok {
		return f
	}
	return os.Stdout
}
