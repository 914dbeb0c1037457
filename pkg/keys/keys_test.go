package keys

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

func writeKey(t *testing.T, dir string, mode os.FileMode) (string, *rsa.PrivateKey) {
	t.Helper()
	k := testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
	p := filepath.Join(dir, "key.pem")
	testcert.WriteKey(t, p, k)
	if err := os.Chmod(p, mode); err != nil {
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
	_, warn, err := LoadPrivateKey(p)
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "readable") {
		t.Fatalf("err %v warn %v", err, warn)
	}
}

func TestParseGarbage(t *testing.T) {
	if _, err := ParsePrivateKey([]byte("hello")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := ParseCertificates([]byte("hello")); err == nil {
		t.Fatal("garbage accepted")
	}
	ec := testcert.NewKey(t, testcert.P256).(*ecdsa.PrivateKey)
	der, _ := x509.MarshalECPrivateKey(ec)
	if _, err := ParsePrivateKey(der); err != nil {
		t.Fatal(err)
	}
}
