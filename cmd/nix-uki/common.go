package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// textArg resolves a TEXT argument: "@PATH" is the file's contents.
func textArg(flag, v string) ([]byte, error) {
	if p, ok := strings.CutPrefix(v, "@"); ok {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, cli.Usagef("--%s: %w", flag, err)
		}
		return b, nil
	}
	return []byte(v), nil
}

// keyHelp documents the key references every signing option takes.
const keyHelp = `
Private keys (KEY) are references: a PEM or DER file (not under
/nix/store), a PKCS#11 URI (pkcs11:token=LABEL;object=LABEL?module-path=
/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin; the PIN from
pin-source or $NIX_UKI_PKCS11_PIN, never pin-value) or a TPM key
(tpm:handle=0x81000001 or tpm:blob=PATH, ?device=/dev/tpmrm0 by default or
?swtpm=SOCKET). See the README, "Signing keys: files, tokens, TPM".`

// openKey opens a key reference, printing its warnings.
func openKey(ctx context.Context, stderr io.Writer, ref string) (signer.Signer, error) {
	k, err := signer.Open(ctx, ref, signer.Options{})
	if err != nil {
		return nil, keyError(err)
	}
	printWarnings(stderr, k)
	return k, nil
}

// printWarnings prints what opening a key found worth saying (a key file
// others can read, say).
func printWarnings(stderr io.Writer, k signer.Signer) {
	for _, w := range k.Warnings() {
		fmt.Fprintf(stderr, "%s: warning: %s\n", toolName, w)
	}
}

// keyError gives a key that cannot be opened exit status 2, with the
// message the build rule asks for when PKCS#11 is not compiled in.
func keyError(err error) error {
	if errors.Is(err, signer.ErrNoPKCS11) {
		return cli.Usagef("this %s was built without PKCS#11 support (CGO_ENABLED=0)", toolName)
	}
	return cli.Usage(err)
}

// loadSigner opens a key reference and its certificate chain, printing key
// warnings. The caller closes the returned key.
func loadSigner(ctx context.Context, stderr io.Writer, keyRef, certPath string) (*authenticode.Signer, signer.Signer, error) {
	s, key, err := signer.OpenAuthenticode(ctx, keyRef, certPath, signer.Options{})
	if err != nil {
		return nil, nil, keyError(err)
	}
	printWarnings(stderr, key)
	return s, key, nil
}

// openImage opens and parses a PE image; the caller closes the file.
func openImage(path string) (*pe.File, *os.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, cli.Usage(err)
	}
	f, err := pe.NewFile(fh, fi.Size())
	if err != nil {
		fh.Close()
		return nil, nil, cli.Usage(fmt.Errorf("%s: %w", path, err))
	}
	return f, fh, nil
}

// writeOutput writes path atomically; fill gets a file it can also patch.
func writeOutput(path string, fill func(authenticode.Output) error) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		out, ok := w.(authenticode.Output)
		if !ok {
			return errors.New("output cannot be patched in place")
		}
		return fill(out)
	})
}

// inputError marks errors about the inputs (exit status 2) unless they
// already carry a status.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		return err
	}
	return cli.Usage(err)
}
