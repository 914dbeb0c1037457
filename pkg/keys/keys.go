package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// maxKeyFile bounds the size of a private key file read.
const maxKeyFile = 1 << 20

// LoadPrivateKey reads a PEM (PKCS#1, PKCS#8 or SEC1) or DER private key.
// warnings lists non-fatal findings, such as a key readable by others.
func LoadPrivateKey(path string) (signer crypto.Signer, warnings []string, err error) {
	// Opened first, then checked and read through the same descriptor, so
	// that the file checked is the file read. O_NONBLOCK: a FIFO in its
	// place must not hang the open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("reading private key: %w", err)
	}
	defer f.Close()
	if err := refuseStoreKey(path, f); err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("reading private key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("private key %s is not a regular file", path)
	}
	if fi.Size() > maxKeyFile {
		return nil, nil, fmt.Errorf("private key %s is %d bytes, more than a key file holds (%d)", path, fi.Size(), maxKeyFile)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("private key %s is readable by group or others (mode %04o); chmod 600 it", path, fi.Mode().Perm()))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading private key: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, nil, fmt.Errorf("private key %s grew past %d bytes while read", path, maxKeyFile)
	}
	signer, err = ParsePrivateKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return signer, warnings, nil
}

// ParsePrivateKey parses a PEM or DER private key.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, errors.New("key is encrypted; decrypt it first (openssl pkey -in KEY -out KEY.pem)")
		}
		der = block.Bytes
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PEM or DER private key (PKCS#1, PKCS#8 or SEC1)")
}

func asSigner(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}

// LoadCertificates reads one or more PEM certificates, or one DER certificate.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return certs, nil
}

// ParseCertificates parses PEM certificates (all CERTIFICATE blocks) or DER.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) > 0 {
		return certs, nil
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil, errors.New("no PEM or DER certificate found")
	}
	return []*x509.Certificate{c}, nil
}

// LoadPublicKey reads a PEM or DER public key (SubjectPublicKeyInfo or
// PKCS#1 RSA), or takes the public key of a certificate.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return pub, nil
}

// ParsePublicKey parses a PEM or DER public key or certificate.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		return c.PublicKey, nil
	}
	return nil, errors.New("not a PEM or DER public key or certificate")
}

// MatchesPublic reports whether signer's public key equals pub.
func MatchesPublic(signer crypto.Signer, pub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := signer.Public().(equaler)
	return ok && e.Equal(pub)
}
