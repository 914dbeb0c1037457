package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

func runVerify(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "verify", "--cert CERT... [--allow-legacy] IMAGE",
		`Verify an image's Authenticode signatures: recompute the image's hash and
compare it with the digest inside each signature, check the PKCS#7 signature,
and check the certificate chain up to one of the given certificates (a
signing certificate itself or a CA above it; intermediates may be embedded in
the signature). Exits 0 when one signature is valid, 1 when none is.

Certificate validity dates are not checked, for any certificate of the chain:
UEFI firmware has no trusted clock and accepts expired certificates, and so
does this command (as sbverify does).

Signatures made in a way nix-uki sign never signs are refused: a SHA-1
digest, a SignerInfo digest algorithm other than the image digest's, a
certificate its issuer signed with SHA-1, an RSA key under 2048 bits in the
chain, an ECDSA signing key not on P-256, a signing certificate whose key usage
lacks digitalSignature or whose extended key usage lacks codeSigning.
--allow-legacy accepts them and says what it accepted.`)
	certPaths := fs.StringArray("cert", nil, "trusted certificate `PATH` (PEM or DER); repeatable")
	allowLegacy := fs.Bool("allow-legacy", false, "accept legacy signatures (SHA-1, RSA under 2048 bits, ...), saying so")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("verify: want exactly one IMAGE")
	}
	if len(*certPaths) == 0 {
		return cli.Usagef("verify: at least one --cert is required")
	}
	var roots []*x509.Certificate
	for _, p := range *certPaths {
		c, err := keys.LoadCertificates(p)
		if err != nil {
			return cli.Usage(err)
		}
		roots = append(roots, c...)
	}
	image := fs.Arg(0)
	f, fh, err := openImage(image)
	if err != nil {
		return err
	}
	defer fh.Close()
	v, err := authenticode.VerifyImage(f, roots, authenticode.Options{AllowLegacy: *allowLegacy})
	switch {
	case errors.Is(err, pe.ErrTruncated) || errors.Is(err, pe.ErrMalformed):
		return cli.Usage(fmt.Errorf("%s: %w", image, err))
	case errors.Is(err, authenticode.ErrLegacy):
		return cli.Failed(fmt.Errorf("%s: %w (--allow-legacy accepts it)", image, err))
	case err != nil:
		return cli.Failed(fmt.Errorf("%s: %w", image, err))
	}
	fmt.Fprintf(env.Stdout, "%s: valid signature by %s\n", image, v.Signer.Subject)
	for _, l := range v.Legacy {
		fmt.Fprintf(env.Stdout, "%s: legacy, accepted by --allow-legacy: %s\n", image, l)
	}
	return nil
}
