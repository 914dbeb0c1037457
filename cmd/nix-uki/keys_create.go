package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
)

func runKeysCreate(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys create", "[--dir DIR] [--bits 2048|4096] [--name NAME] [--owner GUID]",
		`Create a Secure Boot key set: RSA keys and self-signed certificates for the
Platform Key (PK), the Key Exchange Key (KEK) and the signature database (db),
and an owner GUID, in sbctl's layout (DIR/GUID, DIR/keys/PK/PK.key and PK.pem,
and the same for KEK and db), so sbctl and lanzaboote use them as they are.
Private keys are written with mode 0600; existing keys are never overwritten
(exit 2). The db certificate allows code signing: sign UKIs with
--key DIR/keys/db/db.key --cert DIR/keys/db/db.pem.`)
	dir := fs.String("dir", DefaultKeysDir, "where to create the key set")
	bits := fs.Int("bits", 4096, "RSA key size, 2048 or 4096 (OVMF refuses other key types in PK, KEK, db)")
	name := fs.String("name", "nix-boot-security", "start of the certificates' common names")
	owner := fs.String("owner", "", "owner GUID of the enrolled entries (default: a random one)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return cli.Usagef("keys create: unexpected argument %q", fs.Arg(0))
	}
	opts := sbkeys.CreateOptions{Bits: *bits, Name: *name}
	if *owner != "" {
		g, err := efivar.ParseGUID(*owner)
		if err != nil {
			return cli.Usagef("--owner: %w", err)
		}
		opts.Owner = g
	}
	set, err := sbkeys.Create(*dir, opts)
	if errors.Is(err, sbkeys.ErrExists) {
		return cli.Usagef("%w (remove them first to make new ones)", err)
	}
	if err != nil {
		return cli.Usage(err)
	}
	fmt.Fprintf(env.Stdout, "created Secure Boot keys in %s, owner %s\n", *dir, set.Owner)
	for _, r := range sbkeys.Roles {
		fmt.Fprintf(env.Stdout, "%-3s %s\n", r, set.Pair(r).Cert.Subject)
	}
	return nil
}
