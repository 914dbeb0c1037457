package main

import (
	"context"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

func bootCommand() cli.Command {
	return cli.Command{Name: "boot", Summary: "run the checks the signed settings ask for, from an initrd", Run: runBoot}
}

const bootHelp = `Runs, from an initrd before it switches root, the checks that the signed
image asks for: the store under nix-closure-verify.root against the closure
manifest, and the opening of a dm-verity store image. The settings come from
/etc/nix-closure-verify/settings in the signed initrd (written by nix-uki
build --closure-manifest); the kernel command line may only make them
stricter. Without that file the nix-closure-verify.* parameters of the
command line are used, and a line with none, or a store check without a
digest, is a failure (only nix-closure-verify.store=off boots unchecked).
Needs no shell. On success it prints one line per check; on failure it
prints what failed and why, then carries out on-failure: halt (default:
power off), warn (continue), shell (emergency shell, then continue) or fail
(exit 1 and let the caller decide). With nix-closure-verify.medium-label or
medium-uuid (an ISO from "nix-uki iso"), the store image is a file on that
ISO 9660 medium: it is found among the block devices, mounted read-only, the
image opened through dm-verity and mounted at ROOT/nix/store (store-mount).
Parameters are listed in README.md.`

func runBoot(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "boot", "[--cmdline PATH]", bootHelp)
	cmdlinePath := fs.String("cmdline", "/proc/cmdline", "read the kernel command line from `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	return cli.Failed(bootcheck.Boot(ctx, bootcheck.Env{CmdlinePath: *cmdlinePath, Console: env.Stdout,
		Machine: bootcheck.RealMachine{Console: consoleFile(env)}}))
}

func consoleFile(env cli.Env) *os.File {
	if f, ok := env.Stdout.(*os.File); ok {
		return f
	}
	return os.Stdout
}
