package sbkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// CreateOptions say what Create makes.
type CreateOptions struct {
	// Bits is the RSA modulus size: 2048 or 4096 (the default).
	Bits int
	// Name starts each certificate's common name ("NAME Platform Key",
	// "NAME Key Exchange Key", "NAME Database Key").
	Name string
	// Owner is the owner GUID; a random one when zero.
	Owner efivar.GUID
	// Now is the start of the certificates' validity (time.Now when zero);
	// they are valid for Validity (20 years when zero). Firmware has no
	// trusted clock and does not check validity, but other verifiers
	// (sbverify, osslsigncode) do.
	Now      time.Time
	Validity time.Duration
	// Rand is the source of randomness (crypto/rand when nil).
	Rand io.Reader
}

var descriptions = map[Role]string{PK: "Platform Key", KEK: "Key Exchange Key", DB: "Database Key"}

// Create makes a new key set in dir (created if needed) and returns it. It
// refuses (ErrExists) when any file of the layout is already there, and
// leaves nothing behind when it fails part way.
func Create(dir string, o CreateOptions) (set *KeySet, err error) {
	if o.Bits == 0 {
		o.Bits = 4096
	}
	if o.Bits != 2048 && o.Bits != 4096 {
		return nil, fmt.Errorf("RSA key size %d: want 2048 or 4096", o.Bits)
	}
	if o.Name == "" {
		o.Name = "nix-boot-security"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Validity == 0 {
		o.Validity = 20 * 365 * 24 * time.Hour
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if err := refuseExisting(dir); err != nil {
		return nil, err
	}
	set = &KeySet{Owner: o.Owner}
	if set.Owner == (efivar.GUID{}) {
		if set.Owner, err = randomGUID(o.Rand); err != nil {
			return nil, err
		}
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
		}
	}()
	for _, r := range Roles {
		p, err := newPair(o, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		*set.Pair(r) = p
		if err := os.MkdirAll(filepath.Dir(KeyPath(dir, r)), 0o700); err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(p.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		for _, f := range []struct {
			path string
			data []byte
			mode fs.FileMode
		}{
			{KeyPath(dir, r), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
			{CertPath(dir, r), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw}), 0o644},
		} {
			if err := atomicfile.WriteFile(f.path, f.data, f.mode); err != nil {
				return nil, err
			}
			written = append(written, f.path)
		}
	}
	if err := atomicfile.WriteFile(GUIDPath(dir), []byte(set.Owner.String()), 0o644); err != nil {
		return nil, err
	}
	written = append(written, GUIDPath(dir))
	// Read back through the loader: it refuses a key that landed inside a
	// Nix store (by any path: symlink, bind mount), and proves the files.
	if _, _, err := Load(dir); err != nil {
		return nil, fmt.Errorf("reading the new keys back: %w", err)
	}
	return set, nil
}

func refuseExisting(dir string) error {
	paths := []string{GUIDPath(dir)}
	for _, r := range Roles {
		paths = append(paths, KeyPath(dir, r), CertPath(dir, r))
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// newPair makes an RSA key and a self-signed certificate for it. The db
// certificate allows code signing (the Authenticode signer checks for
// it); none is a CA, as none issues certificates.
func newPair(o CreateOptions, r Role) (Pair, error) {
	key, err := rsa.GenerateKey(o.Rand, o.Bits)
	if err != nil {
		return Pair{}, err
	}
	serial, err := rand.Int(o.Rand, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Pair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: o.Name + " " + descriptions[r]},
		NotBefore:             o.Now.UTC().Truncate(time.Second),
		NotAfter:              o.Now.UTC().Truncate(time.Second).Add(o.Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	if r == DB {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	der, err := x509.CreateCertificate(o.Rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Pair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Pair{}, err
	}
	return Pair{Key: key, Cert: cert}, nil
}

// randomGUID is a version 4 GUID (RFC 9562 section 5.4) in the on-disk
// order efivar.GUID keeps.
func randomGUID(r io.Reader) (efivar.GUID, error) {
	var u [16]byte
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return efivar.GUID{}, err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	return efivar.ParseGUID(s)
}
