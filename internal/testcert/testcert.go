// Package testcert makes keys and X.509 certificates for tests: RSA or
// ECDSA, self-signed or issued by another test identity, with the usages and
// validity a test asks for, and writes them as PEM files for the peer tools
// (sbsign, osslsigncode, efitools, openssl) to read.
//
// For tests only: keys come from crypto/rand, are written unencrypted and
// every failure ends the test. It trusts its callers (test code).
package testcert

import (
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
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Kind is a key type and size.
type Kind string

const (
	RSA2048 Kind = "rsa2048"
	RSA4096 Kind = "rsa4096"
	RSA1024 Kind = "rsa1024" // too weak for nix-uki: for tests that must see it refused
	P256    Kind = "p256"
)

// NoKeyUsage in Template.KeyUsage leaves the keyUsage extension out.
const NoKeyUsage x509.KeyUsage = -1

// Default validity: wide enough that no test meets an expired certificate
// unless it asks for one.
var (
	DefaultNotBefore = time.Date(2020, 9, 13, 12, 26, 40, 0, time.UTC)
	DefaultNotAfter  = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Template says what certificate to make. The zero value of each field
// gives the usual test certificate: a self-signed RSA 2048 code signing
// certificate valid from 2020 to 2099, as nix-uki sign expects one.
type Template struct {
	Name   string        // subject common name, and the PEM files' base name
	Kind   Kind          // RSA2048 when empty
	Key    crypto.Signer // use this key instead of a new one of Kind (key generation is slow)
	Issuer *Identity     // self-signed when nil
	CA     bool          // basic constraints CA:TRUE

	// KeyUsage defaults to digitalSignature, plus keyCertSign for a CA;
	// NoKeyUsage leaves the extension out.
	KeyUsage x509.KeyUsage
	// ExtKeyUsage defaults (nil) to codeSigning for a leaf and none for a
	// CA; an empty non-nil slice leaves the extension out.
	ExtKeyUsage []x509.ExtKeyUsage

	NotBefore, NotAfter time.Time // DefaultNotBefore, DefaultNotAfter when zero
	Serial              int64     // unique within the test binary when 0
	// SignatureAlgorithm is how the issuer signs (e.g. x509.SHA1WithRSA for
	// a legacy certificate); crypto/x509 chooses when 0.
	SignatureAlgorithm x509.SignatureAlgorithm
	Organization       []string
	Dir                string // where the PEM files go; a new t.TempDir() when empty
}

// Identity is a key, its certificate and the PEM files holding both.
type Identity struct {
	Key      crypto.Signer
	Cert     *x509.Certificate
	KeyPath  string // PKCS#8 PEM, mode 0600
	CertPath string // PEM
}

var serial atomic.Int64

// New makes a key and a certificate as tmpl says and writes both as PEM.
func New(t testing.TB, tmpl Template) *Identity {
	t.Helper()
	key := tmpl.Key
	if key == nil {
		key = NewKey(t, tmpl.Kind)
	}
	c := &x509.Certificate{
		SerialNumber:          big.NewInt(tmpl.Serial),
		Subject:               pkix.Name{CommonName: tmpl.Name, Organization: tmpl.Organization},
		NotBefore:             tmpl.NotBefore,
		NotAfter:              tmpl.NotAfter,
		KeyUsage:              tmpl.KeyUsage,
		ExtKeyUsage:           tmpl.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  tmpl.CA,
		SignatureAlgorithm:    tmpl.SignatureAlgorithm,
	}
	if tmpl.Serial == 0 {
		c.SerialNumber = big.NewInt(serial.Add(1))
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = DefaultNotBefore
	}
	if c.NotAfter.IsZero() {
		c.NotAfter = DefaultNotAfter
	}
	switch {
	case c.KeyUsage == NoKeyUsage:
		c.KeyUsage = 0
	case c.KeyUsage == 0 && tmpl.CA:
		c.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	case c.KeyUsage == 0:
		c.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if tmpl.ExtKeyUsage == nil && !tmpl.CA {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	parent, parentKey := c, key
	if tmpl.Issuer != nil {
		parent, parentKey = tmpl.Issuer.Cert, tmpl.Issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, c, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("certificate %s: %v", tmpl.Name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certificate %s: %v", tmpl.Name, err)
	}
	dir := tmpl.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	base := filepath.Join(dir, fileName(tmpl.Name))
	id := &Identity{Key: key, Cert: cert, KeyPath: base + ".key", CertPath: base + ".crt"}
	WriteKey(t, id.KeyPath, key)
	write(t, id.CertPath, CertPEM(cert), 0o644)
	return id
}

// Chain is the identity's certificate and then its issuers' up to the
// self-signed one: what a signer embeds (the root is harmless there).
func (id *Identity) Chain(issuers ...*Identity) []*x509.Certificate {
	out := []*x509.Certificate{id.Cert}
	for _, i := range issuers {
		out = append(out, i.Cert)
	}
	return out
}

// NewKey generates a key of the given kind (RSA2048 when empty).
func NewKey(t testing.TB, kind Kind) crypto.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch kind {
	case RSA2048, "":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA4096:
		key, err = rsa.GenerateKey(rand.Reader, 4096)
	case RSA1024:
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	case P256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		t.Fatalf("testcert: unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatalf("generating a %s key: %v", kind, err)
	}
	return key
}

// WriteKey writes key as a PKCS#8 PEM file, mode 0600.
func WriteKey(t testing.TB, path string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// CertPEM encodes a certificate as PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// fileName turns a common name into a file name: no spaces, slashes or
// parentheses.
func fileName(name string) string {
	if name == "" {
		name = "cert"
	}
	return strings.NewReplacer(" ", "-", "/", "-", "(", "", ")", "").Replace(name)
}

func write(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile keeps the mode of an existing file.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
