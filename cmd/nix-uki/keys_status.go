package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/enroll"
)

func runKeysStatus(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys status", "[--efivarfs ROOT]",
		`Show whether Secure Boot is on, whether the firmware is in setup mode, and what
PK, KEK, db and dbx hold (certificate subjects, hash counts), read from
efivarfs. A database that cannot be parsed is reported on its line; efivarfs
missing (not booted with UEFI) is exit status 2.`)
	efivarfs := fs.String("efivarfs", enroll.DefaultEfivarfs, "efivarfs mount `ROOT`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usagef("keys status: unexpected argument %q", fs.Arg(0))
	}
	st, err := enroll.ReadStatus(enroll.Efivarfs{Root: *efivarfs})
	if err != nil {
		return cli.Usage(err)
	}
	if st.SecureBoot < 0 && st.SetupMode < 0 {
		return cli.Usagef("%s: no SecureBoot or SetupMode variable (not booted with UEFI, or efivarfs not mounted)", *efivarfs)
	}
	state := func(v int, on, off string) string {
		switch v {
		case -1:
			return "absent"
		case 1:
			return on
		case 0:
			return off
		}
		return fmt.Sprintf("unknown value %d", v)
	}
	fmt.Fprintf(env.Stdout, "SecureBoot: %s\n", state(st.SecureBoot, "enabled", "disabled"))
	fmt.Fprintf(env.Stdout, "SetupMode: %s\n", state(st.SetupMode, "setup (keys can be enrolled)", "user"))
	for _, v := range st.Enrolled {
		switch {
		case v.Err != nil:
			fmt.Fprintf(env.Stdout, "%s: unreadable: %v\n", v.Name, v.Err)
		case len(v.Entries) == 0:
			fmt.Fprintf(env.Stdout, "%s: empty\n", v.Name)
		default:
			fmt.Fprintf(env.Stdout, "%s: %d entries\n", v.Name, len(v.Entries))
			if v.Name == "dbx" {
				continue // hundreds of revoked hashes say nothing one by one
			}
			printEntries(env.Stdout, v.Entries)
		}
	}
	return nil
}
