package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/enroll"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// keysCommand is the "keys" group: a machine owner's Secure Boot keys, an
// organisation CA and keys kept in a TPM.
var keysCommand = cli.Command{
	Name:    "keys",
	Summary: "Secure Boot keys: create and enroll PK, KEK, db; an organisation CA; keys in a TPM",
	Commands: []cli.Command{
		{Name: "create", Summary: "create PK, KEK, db and an owner GUID in sbctl's directory layout", Run: runKeysCreate},
		{Name: "enroll", Summary: "enroll db, KEK, PK through efivarfs (setup mode) or into an OVMF variable store", Run: runKeysEnroll},
		{Name: "export-auth", Summary: "write PK.auth, KEK.auth, db.auth for systemd-boot's secure-boot-enroll", Run: runKeysExportAuth},
		{Name: "status", Summary: "show Secure Boot and setup mode and the enrolled keys, from efivarfs", Run: runKeysStatus},
		{Name: "ca", Summary: "an organisation CA: create it, issue machine certificates and sub-CAs", Commands: keysCACommands},
		{Name: "tpm", Summary: "signing keys kept in a TPM 2.0", Commands: keysTPMCommands},
	},
}

// DefaultKeysDir is sbctl's (and so lanzaboote's) key directory.
const DefaultKeysDir = "/var/lib/sbctl"

// microsoftWarning is printed whenever keys are enrolled without the
// Microsoft UEFI CAs, as sbctl does: on real hardware the firmware then
// refuses option ROMs Microsoft signed (graphics, network, storage
// cards), which can leave a machine without display or boot device.
const microsoftWarning = `WARNING: enrolling WITHOUT the Microsoft UEFI CAs (--microsoft).
WARNING: on real hardware, option ROMs signed by Microsoft (graphics, network and storage
WARNING: cards) will no longer run: the machine may show nothing and fail to boot. Other
WARNING: operating systems' loaders will be refused too. Only fine for VMs or machines you
WARNING: know need none.`

// planFlags are the flags enroll and export-auth share.
type planFlags struct {
	dir           *string
	microsoft     *bool
	microsoftFrom *string
	at            *string
	addDB         *[]string
}

func addPlanFlags(fs *pflag.FlagSet) planFlags {
	return planFlags{
		dir:           fs.String("dir", DefaultKeysDir, "key set `DIR` (sbctl layout: GUID, keys/{PK,KEK,db}/NAME.{key,pem}; NAME.ref for a key on a token or in a TPM)"),
		microsoft:     fs.Bool("microsoft", false, "add the Microsoft UEFI CAs to db and KEK"),
		microsoftFrom: fs.String("microsoft-from", enroll.DefaultMicrosoftSource, "OVMF variable store `FILE` whose KEK and db hold the Microsoft CAs"),
		at:            fs.String("time", "", "timestamp of the writes, RFC 3339 (default: now; later than any before for a key update)"),
		addDB:         fs.StringArray("add-db", nil, "also enroll the certificates of `PEM` in db (e.g. an organisation CA; repeatable)"),
	}
}

// plan loads the key set (with its private keys when sign is set: files,
// or tokens and TPMs through keys/ROLE/ROLE.ref) and plans the writes,
// printing the Microsoft warning when they are left out.
func (p planFlags) plan(ctx context.Context, stderr io.Writer, sign bool) (*sbkeys.KeySet, []enroll.Write, error) {
	var ts time.Time
	if *p.at != "" {
		t, err := time.Parse(time.RFC3339, *p.at)
		if err != nil {
			return nil, nil, cli.Usagef("--time: %w", err)
		}
		ts = t
	}
	var set *sbkeys.KeySet
	var err error
	if sign {
		var warnings []string
		set, warnings, err = sbkeys.Load(ctx, *p.dir, signer.Options{})
		if err != nil {
			return nil, nil, keyError(err)
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "%s: warning: %s\n", toolName, w)
		}
	} else if set, err = sbkeys.LoadCertificates(*p.dir); err != nil {
		return nil, nil, cli.Usage(err)
	}
	opts := enroll.PlanOptions{Time: ts}
	for _, path := range *p.addDB {
		certs, err := keys.LoadCertificates(path)
		if err != nil {
			return nil, nil, cli.Usagef("--add-db: %w", err)
		}
		opts.ExtraDB = append(opts.ExtraDB, certs...)
	}
	if *p.microsoft {
		s, err := ovmfvars.Open(*p.microsoftFrom)
		if err != nil {
			return nil, nil, cli.Usagef("--microsoft-from: %w", err)
		}
		if opts.Microsoft, err = enroll.MicrosoftFrom(s); err != nil {
			return nil, nil, cli.Usagef("--microsoft-from %s: %w", *p.microsoftFrom, err)
		}
	} else {
		fmt.Fprintln(stderr, microsoftWarning)
	}
	writes, err := enroll.Plan(set, opts)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	if sign {
		if err := enroll.Sign(writes, set); err != nil {
			return nil, nil, keyError(err)
		}
	}
	return set, writes, nil
}
