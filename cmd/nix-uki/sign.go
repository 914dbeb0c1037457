package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

func runSign(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "sign", "--key KEY --cert CERT IMAGE [--output OUT]",
		`Sign a PE32+ image with Authenticode: SHA-256, RSA 2048 to 4096 bits or
ECDSA P-256. Use RSA for Secure Boot: Debian 12's OVMF boots RSA 2048 and
4096 signatures and certificate chains, and refuses ECDSA P-256 (it will not
enroll an EC certificate in db; see tests/vm). A certificate with key usages
must allow digitalSignature and codeSigning, and embedded certificates must
not hold RSA keys under 2048 bits: verify refuses such signatures. An existing
signature is replaced, or kept with --append (stray zeros after the kept
signatures are dropped). The PE CheckSum is recomputed. There is no signing
time, so the same image and key give the same bytes. Without --output, IMAGE
is replaced atomically.
`+keyHelp)
	key := fs.String("key", "", "private `KEY`: a file (PEM or DER; not under /nix/store), pkcs11: URI or tpm: reference")
	cert := fs.String("cert", "", "certificate `PATH` (PEM; more certificates after it are embedded)")
	output := fs.String("output", "", "write the signed image to `PATH` (default: replace IMAGE)")
	appendSig := fs.Bool("append", false, "keep existing signatures and add this one")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("sign: want exactly one IMAGE")
	}
	if *key == "" || *cert == "" {
		return cli.Usagef("sign: --key and --cert are required")
	}
	image := fs.Arg(0)
	signer, k, err := loadSigner(ctx, env.Stderr, *key, *cert)
	if err != nil {
		return err
	}
	defer k.Close()
	f, fh, err := openImage(image)
	if err != nil {
		return err
	}
	defer fh.Close()
	dst := *output
	if dst == "" {
		dst = image
	}
	err = writeOutput(dst, func(out authenticode.Output) error {
		return authenticode.SignImage(out, f, signer, *appendSig)
	})
	if err != nil {
		return inputError(fmt.Errorf("signing %s: %w", image, err))
	}
	return nil
}
