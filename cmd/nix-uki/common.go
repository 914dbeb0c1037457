package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
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

// loadSigner loads a key and its certificate chain, printing key warnings.
func loadSigner(stderr io.Writer, keyPath, certPath string) (*authenticode.Signer, error) {
	key, warnings, err := keys.LoadPrivateKey(keyPath)
	if err != nil {
		return nil, cli.Usage(err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", toolName, w)
	}
	chain, err := keys.LoadCertificates(certPath)
	if err != nil {
		return nil, cli.Usage(err)
	}
	s := &authenticode.Signer{Key: key, Chain: chain}
	if err := s.Check(); err != nil {
		return nil, cli.Usage(fmt.Errorf("%s and %s: %w", keyPath, certPath, err))
	}
	return s, nil
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
