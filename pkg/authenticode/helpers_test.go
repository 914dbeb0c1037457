package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

type identity struct {
	key      crypto.Signer
	cert     *x509.Certificate
	keyPath  string
	certPath string
}

var serial int64

// newIdentity makes a key and a certificate signed by parent (self-signed
// when parent is nil), written as PEM files in dir.
func newIdentity(t *testing.T, dir, name string, parent *identity, isCA bool, ec bool) *identity {
	t.Helper()
	var key crypto.Signer
	var err error
	if ec {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Unix(1600000000, 0),
		NotAfter:              time.Unix(1600000000, 0).AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	id := &identity{key: key, cert: cert, keyPath: filepath.Join(dir, name+".key"), certPath: filepath.Join(dir, name+".crt")}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(id.keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
	os.WriteFile(id.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return id
}

func (id *identity) signer() *Signer {
	return &Signer{Key: id.key, Chain: []*x509.Certificate{id.cert}}
}

// fileBuf is an in-memory Output.
type fileBuf struct{ b []byte }

func (f *fileBuf) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }
func (f *fileBuf) WriteAt(p []byte, off int64) (int, error) {
	copy(f.b[off:], p)
	return len(p), nil
}

func parse(t *testing.T, img []byte) *pe.File {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func signBytes(t *testing.T, img []byte, s *Signer, keep bool) []byte {
	t.Helper()
	var out fileBuf
	if err := SignImage(&out, parse(t, img), s, keep); err != nil {
		t.Fatal(err)
	}
	return out.b
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
