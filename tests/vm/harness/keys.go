package harness

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// SnakeoilKey decrypts the snakeoil db key into dir with openssl and
// returns the paths of the key (PEM, mode 0600) and of its certificate.
func SnakeoilKey(dir string) (key, cert string, err error) {
	key = filepath.Join(dir, "snakeoil.key")
	cmd := exec.Command("openssl", "pkey", "-in", SnakeoilEncryptedKey,
		"-passin", "pass:"+snakeoilPassphrase, "-out", key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("decrypting %s: %v: %s", SnakeoilEncryptedKey, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err := os.Chmod(key, 0o600); err != nil {
		return "", "", err
	}
	return key, SnakeoilCert, nil
}

// NewSigningKey writes a fresh RSA-2048 key and a self-signed certificate
// for it (PEM, code signing) into dir as NAME.key and NAME.crt: a key that
// no firmware trusts.
func NewSigningKey(dir, name string) (key, cert string, err error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	key = filepath.Join(dir, name+".key")
	cert = filepath.Join(dir, name+".crt")
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return key, cert, nil
}
