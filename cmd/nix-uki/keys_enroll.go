package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/enroll"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
)

func runKeysEnroll(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys enroll",
		"[--dir DIR] [--microsoft] [--force] [--dry-run] [--efivarfs ROOT | --ovmf-vars FILE [--output OUT]]",
		`Enroll a key set: db (the db certificate), then KEK, then PK, whose write ends
setup mode, as time-based authenticated variables signed as firmware in user
mode requires (db by KEK, KEK and PK by PK).

Through efivarfs (the default) the firmware must be in setup mode (its keys
cleared in its setup screen); otherwise nothing is written and the exit status
is 1, unless --force. A write the firmware refuses is exit status 1 too. With
--ovmf-vars the keys are written offline into an OVMF variable store file (in
place, or to --output), with shim's MokList holding the db certificate
(--mok=false leaves it out); a store that already holds a PK needs --force.

Without --microsoft a loud warning is printed: real hardware needs the
Microsoft UEFI CAs for option ROMs. --microsoft takes them from the KEK and db
of an OVMF store that holds them (Debian's OVMF_VARS_4M.ms.fd by default).
--dry-run prints the writes and changes nothing.`)
	pf := addPlanFlags(fs)
	efivarfs := fs.String("efivarfs", enroll.DefaultEfivarfs, "efivarfs mount `ROOT`")
	ovmfVars := fs.String("ovmf-vars", "", "enroll offline into this OVMF variable store `FILE`")
	output := fs.String("output", "", "with --ovmf-vars: write the store to `OUT` instead of in place")
	mok := fs.Bool("mok", true, "with --ovmf-vars: also set shim's MokList to the db certificate")
	force := fs.Bool("force", false, "enroll even when the firmware (or store) is not in setup mode")
	dryRun := fs.Bool("dry-run", false, "print the writes, change nothing")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usagef("keys enroll: unexpected argument %q", fs.Arg(0))
	}
	if *output != "" && *ovmfVars == "" {
		return cli.Usagef("keys enroll: --output needs --ovmf-vars")
	}
	// Offline and dry runs need no signature, so no private key.
	sign := *ovmfVars == "" && !*dryRun
	set, writes, err := pf.plan(ctx, env.Stderr, sign)
	if err != nil {
		return err
	}

	var target enroll.Target = enroll.Efivarfs{Root: *efivarfs}
	var store *ovmfvars.Store
	if *ovmfVars != "" {
		if store, err = ovmfvars.Open(*ovmfVars); err != nil {
			return cli.Usage(err)
		}
		target = enroll.OVMFVars{Store: store}
	}
	if *dryRun {
		printPlan(env.Stdout, writes)
		setup, err := target.SetupMode()
		switch {
		case err != nil:
			fmt.Fprintf(env.Stdout, "setup mode: unknown (%v)\n", err)
		default:
			fmt.Fprintf(env.Stdout, "setup mode: %s\n", yesNo(setup))
		}
		return nil
	}
	err = enroll.Enroll(target, writes, *force)
	switch {
	case errors.Is(err, enroll.ErrNotSetupMode):
		return cli.Failedf("%w: nothing written (clear the keys in the firmware's setup, or --force)", err)
	case errors.Is(err, enroll.ErrWriteFailed) && store == nil:
		return cli.Failed(err) // the firmware refused a write
	case err != nil:
		return cli.Usage(err)
	}
	if store == nil {
		fmt.Fprintf(env.Stdout, "enrolled db, KEK, PK; Secure Boot is enforced from the next boot if enabled in the firmware\n")
		return nil
	}
	if *mok {
		if err := (enroll.OVMFVars{Store: store}).SetMokList(set.Owner, set.DB.Cert); err != nil {
			return cli.Usage(err)
		}
	}
	dst := *output
	if dst == "" {
		dst = *ovmfVars
	}
	if err := store.WriteFile(dst); err != nil {
		return cli.Usage(err)
	}
	fmt.Fprintf(env.Stdout, "enrolled db, KEK, PK into %s\n", dst)
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// printPlan lists the writes and what each holds.
func printPlan(w io.Writer, writes []enroll.Write) {
	for _, wr := range writes {
		fmt.Fprintf(w, "%s (%s), signed by %s, %d bytes of signature lists, time %s:\n",
			wr.Variable.Name, wr.Variable.EfivarfsName(), wr.SignedBy, len(wr.Data), wr.Time.Format("2006-01-02T15:04:05Z"))
		entries, err := enroll.Entries(wr.Data)
		if err != nil {
			fmt.Fprintf(w, "  (%v)\n", err)
		}
		printEntries(w, entries)
	}
}

func printEntries(w io.Writer, entries []enroll.Entry) {
	for _, e := range entries {
		switch e.Type {
		case "x509":
			fmt.Fprintf(w, "  x509 %s (owner %s)\n", e.Subject, e.Owner)
		default:
			fmt.Fprintf(w, "  %s %s (owner %s)\n", e.Type, e.Digest, e.Owner)
		}
	}
}
