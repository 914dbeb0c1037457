package efivar

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// peerTool returns the path of a peer tool, skipping the test when it is
// missing (failing in CI, where scripts/deps installs it).
func peerTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		peer.Missing(t, "%s missing (Debian package %s)", name, pkg)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

type testKey struct {
	key      crypto.Signer
	cert     *x509.Certificate
	keyPath  string
	certPath string
}

// newKey makes a self-signed certificate for a fresh key ("rsa2048",
// "rsa4096" or "p256") and writes both as PEM into dir.
func newKey(t *testing.T, dir, name, kind string) testKey {
	t.Helper()
	var key crypto.Signer
	var err error
	switch kind {
	case "rsa2048":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa4096":
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case "p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil || key == nil {
		t.Fatalf("generating %s key: %v", kind, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1234567),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	k := testKey{key: key, cert: cert,
		keyPath: filepath.Join(dir, name+".key"), certPath: filepath.Join(dir, name+".crt")}
	write(t, k.keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	write(t, k.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return k
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runErr(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
