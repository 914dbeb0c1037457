package signer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
)

func TestPKCS11PIN(t *testing.T) {
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	os.WriteFile(pinFile, []byte("1234\n"), 0o644)
	env := func(v string, ok bool) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name != DefaultPINEnv {
				t.Fatalf("looked up %s", name)
			}
			return v, ok
		}
	}
	tests := []struct {
		uri     string
		opts    Options
		pin     string
		warn    int
		wantErr error
	}{
		{"pkcs11:token=a?pin-source=file:" + pinFile, Options{}, "1234", 1, nil},
		{"pkcs11:token=a?pin-source=" + pinFile, Options{}, "1234", 1, nil},
		{"pkcs11:token=a", Options{LookupEnv: env("5678", true)}, "5678", 0, nil},
		{"pkcs11:token=a", Options{LookupEnv: env("", false)}, "", 0, ErrNoPIN},
		{"pkcs11:token=a?pin-value=1", Options{}, "", 0, ErrPINValue},
		{"pkcs11:token=a?pin-value=1", Options{AllowPINValue: true}, "1", 0, nil},
		{"pkcs11:token=a?pin-value=1&pin-source=" + pinFile, Options{AllowPINValue: true}, "", 0, ErrReference},
		{"pkcs11:token=a?pin-source=file:" + filepath.Join(dir, "none"), Options{}, "", 0, os.ErrNotExist},
	}
	for _, tt := range tests {
		u, err := pkcs11uri.Parse(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		pin, warn, err := pkcs11PIN(u, &tt.opts)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: %v, want %v", tt.uri, err, tt.wantErr)
			}
			continue
		}
		if err != nil || pin != tt.pin || len(warn) != tt.warn {
			t.Errorf("%s: %q %q %v", tt.uri, pin, warn, err)
		}
	}
}

func TestPKCS11ReferenceErrors(t *testing.T) {
	for _, uri := range []string{
		"pkcs11:object=db",                        // no token
		"pkcs11:token=a;serial=b;object=db",       // two tokens
		"pkcs11:token=a",                          // no key
		"pkcs11:token=a;object=db;model=x",        // unsupported selector
		"pkcs11:token=a;object=db;frobnicate=yes", // unknown attribute
	} {
		_, err := Open(context.Background(), uri, Options{})
		if !errors.Is(err, ErrReference) {
			t.Errorf("%s: %v, want ErrReference", uri, err)
		}
	}
}

func TestPKCS11Module(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "libfake.so"), nil, 0o644)
	old := ModuleDirs
	ModuleDirs = []string{dir}
	defer func() { ModuleDirs = old }()
	for uri, want := range map[string]string{
		"pkcs11:token=a?module-path=/x/y.so": "/x/y.so",
		"pkcs11:token=a?module-name=fake":    filepath.Join(dir, "libfake.so"),
		"pkcs11:token=a?module-path=y.so":    "!",
		"pkcs11:token=a?module-name=../fake": "!",
		"pkcs11:token=a?module-name=none":    "!",
		"pkcs11:token=a":                     "!", // no p11-kit proxy in dir
	} {
		u, _ := pkcs11uri.Parse(uri)
		got, err := pkcs11Module(u)
		if (want == "!") != (err != nil) || (err == nil && got != want) {
			t.Errorf("%s: %q %v, want %q", uri, got, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "module") {
			t.Errorf("%s: %v does not say module", uri, err)
		}
	}
}
