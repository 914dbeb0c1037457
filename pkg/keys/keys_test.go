package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKey(t *testing.T, dir string, mode os.FileMode) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	p := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
	return p, k
}

func TestLoadPrivateKey(t *testing.T) {
	p, k := writeKey(t, t.TempDir(), 0o600)
	s, warn, err := LoadPrivateKey(p)
	if err != nil || len(warn) != 0 {
		t.Fatalf("err %v warn %v", err, warn)
	}
	if !MatchesPublic(s, &k.PublicKey) {
		t.Fatal("public key mismatch")
	}
}

func TestWorldReadableKeyWarns(t *testing.T) {
	p, _ := writeKey(t, t.TempDir(), 0o644)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, warn, err := LoadPrivateKey(p)
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "readable") {
		t.Fatalf("err %v warn %v", err, warn)
	}
}

func TestStoreKeyRefused(t *testing.T) {
	store := t.TempDir()
	old := StoreDirs
	StoreDirs = []string{store}
	defer func() { StoreDirs = old }()
	p, _ := writeKey(t, store, 0o600)
	if _, _, err := LoadPrivateKey(p); !errors.Is(err, ErrInStore) {
		t.Fatalf("err = %v", err)
	}
	// A symlink from outside into the store is refused too.
	link := filepath.Join(t.TempDir(), "link.pem")
	os.Symlink(p, link)
	if _, _, err := LoadPrivateKey(link); !errors.Is(err, ErrInStore) {
		t.Fatalf("symlink: err = %v", err)
	}
}

func TestParseGarbage(t *testing.T) {
	if _, err := ParsePrivateKey([]byte("hello")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := ParseCertificates([]byte("hello")); err == nil {
		t.Fatal("garbage accepted")
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(ec)
	if _, err := ParsePrivateKey(der); err != nil {
		t.Fatal(err)
	}
}
