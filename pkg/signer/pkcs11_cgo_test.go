//go:build cgo

package signer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/softhsm"
)

// TestOpenSoftHSM signs with RSA and ECDSA keys pkcs11-tool generated on a
// SoftHSM2 token, and checks the refusals: wrong PIN, missing key, absent
// token, each its own error.
func TestOpenSoftHSM(t *testing.T) {
	tok := softhsm.New(t, "signer-test", "4321")
	tok.GenerateKey(t, "rsa:2048", "db", "01")
	tok.GenerateKey(t, "EC:prime256v1", "pcr", "02")
	ctx := context.Background()
	for _, ref := range []string{
		tok.URI("db"),
		tok.URI("pcr"),
		"pkcs11:token=signer-test;id=%01?module-path=" + softhsm.Module + "&pin-source=file:" + tok.PINFile,
	} {
		s, err := Open(ctx, ref, Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if strings.Contains(s.Description(), tok.PIN) || !strings.HasPrefix(s.Description(), "pkcs11:token=signer-test") {
			t.Fatalf("description %q", s.Description())
		}
		checkSigns(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The PIN from the environment.
	envRef := "pkcs11:token=signer-test;object=db?module-path=" + softhsm.Module
	s, err := Open(ctx, envRef, Options{LookupEnv: func(string) (string, bool) { return tok.PIN, true }})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	wrong := filepath.Join(t.TempDir(), "wrong-pin")
	os.WriteFile(wrong, []byte("0000\n"), 0o600)
	for ref, want := range map[string]error{
		strings.Replace(tok.URI("db"), tok.PINFile, wrong, 1): ErrWrongPIN,
		tok.URI("missing"): ErrNoObject,
		strings.Replace(tok.URI("db"), "token=signer-test", "token=absent", 1): ErrNoToken,
	} {
		_, err := Open(ctx, ref, Options{})
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", ref, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", ref, err)
		}
	}
}
