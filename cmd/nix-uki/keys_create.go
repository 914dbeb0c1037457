package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

func runKeysCreate(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys create", "[--dir DIR] [--bits 2048|4096] [--name NAME] [--owner GUID] [--pk-key REF] [--kek-key REF] [--db-key REF]",
		`Create a Secure Boot key set: RSA keys and self-signed certificates for the
Platform Key (PK), the Key Exchange Key (KEK) and the signature database (db),
and an owner GUID, in sbctl's layout (DIR/GUID, DIR/keys/PK/PK.key and PK.pem,
and the same for KEK and db), so sbctl and lanzaboote use them as they are.
Private keys are written with mode 0600; existing keys are never overwritten
(exit 2). The db certificate allows code signing: sign UKIs with
--key DIR/keys/db/db.key --cert DIR/keys/db/db.pem.

--pk-key, --kek-key and --db-key keep that key on a PKCS#11 token or in a
TPM instead (a pkcs11: URI or a tpm: reference to an RSA 2048 or 4096 key
that already exists there, made by pkcs11-tool or "keys tpm create"): its
certificate is signed there, and DIR/keys/ROLE/ROLE.ref holds the reference
in place of ROLE.key ("keys enroll" and "keys export-auth" sign through it;
sbctl does not read it). Paths in the reference must be absolute. The PIN
is read from pin-source or $NIX_UKI_PKCS11_PIN when the set is used, never
stored. A wrong PIN, a missing key or a non-RSA key: exit 2, nothing
written.
`+keyHelp)
	dir := fs.String("dir", DefaultKeysDir, "where to create the key set")
	bits := fs.Int("bits", 4096, "RSA key size, 2048 or 4096 (OVMF refuses other key types in PK, KEK, db)")
	name := fs.String("name", "nix-boot-security", "start of the certificates' common names")
	owner := fs.String("owner", "", "owner GUID of the enrolled entries (default: a random one)")
	refs := map[sbkeys.Role]*string{
		sbkeys.PK:  fs.String("pk-key", "", "keep PK on a token or in a TPM: its `REF` (pkcs11: or tpm:)"),
		sbkeys.KEK: fs.String("kek-key", "", "keep KEK on a token or in a TPM: its `REF`"),
		sbkeys.DB:  fs.String("db-key", "", "keep db on a token or in a TPM: its `REF`"),
	}
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
	opened := map[sbkeys.Role]string{}
	for _, r := range sbkeys.Roles {
		ref := *refs[r]
		if ref == "" {
			continue
		}
		// Checked before the key is opened: a reference that cannot be
		// recorded should not cost a PIN prompt or a TPM load.
		flag := "--" + strings.ToLower(string(r)) + "-key"
		if err := sbkeys.CheckRef(ref); err != nil {
			return cli.Usagef("%s: %w", flag, err)
		}
		k, err := sbkeys.OpenRef(ctx, ref, signer.Options{})
		if err != nil {
			return keyError(fmt.Errorf("%s: %w", flag, err))
		}
		for _, w := range k.Warnings() {
			fmt.Fprintf(env.Stderr, "%s: warning: %s\n", toolName, w)
		}
		if opts.Existing == nil {
			opts.Existing = map[sbkeys.Role]sbkeys.ExistingKey{}
		}
		opts.Existing[r] = sbkeys.ExistingKey{Ref: ref, Key: k}
		opened[r] = k.Description()
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
		where := sbkeys.KeyPath(*dir, r)
		if d, ok := opened[r]; ok {
			where = d
		}
		fmt.Fprintf(env.Stdout, "%-3s %s, key %s\n", r, set.Pair(r).Cert.Subject, where)
	}
	return nil
}
