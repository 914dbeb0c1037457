package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

func runKeysExportAuth(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys export-auth", "--esp ESP [--name NAME] [--dir DIR] [--microsoft] [--time T]",
		`Write the signed writes of a key set as ESP/loader/keys/NAME/PK.auth, KEK.auth
and db.auth, the files systemd-boot (252 and later) enrolls from with
"secure-boot-enroll" in loader.conf when the firmware is in setup mode. They
are what "keys enroll" writes through efivarfs, byte for byte (and what
efitools' sign-efi-sig-list makes with the same keys and --time).`)
	pf := addPlanFlags(fs)
	esp := fs.String("esp", "", "the EFI system partition's mount `DIR`")
	name := fs.String("name", "nix-boot-security", "directory `NAME` under loader/keys (shown in systemd-boot's menu)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usagef("keys export-auth: unexpected argument %q", fs.Arg(0))
	}
	if *esp == "" {
		return cli.Usagef("keys export-auth: --esp is required")
	}
	if *name == "" || strings.ContainsAny(*name, "/\\") || *name == "." || *name == ".." {
		return cli.Usagef("keys export-auth: --name %q: want one path component", *name)
	}
	_, writes, err := pf.plan(ctx, env.Stderr, true)
	if err != nil {
		return err
	}
	dir := filepath.Join(*esp, "loader", "keys", *name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cli.Usage(err)
	}
	for _, w := range writes {
		path := filepath.Join(dir, w.Variable.Name+".auth")
		if err := atomicfile.WriteFile(path, w.Auth, 0o644); err != nil {
			return cli.Usage(err)
		}
		fmt.Fprintln(env.Stdout, path)
	}
	return nil
}
