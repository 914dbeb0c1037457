package sbkeys

import (
	"crypto"
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
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
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
	// Existing are keys already on a token or in a TPM, by role (a
	// RefKey, or any signer the caller keeps open): their certificates are signed
	// through them and their references written to NAME.ref in place of
	// NAME.key. The other roles get new key files of Bits bits.
	Existing map[Role]ExistingKey
}

// ExistingKey is a key that stays where it is: Ref names it (pkg/signer)
// and Key is it, open.
type ExistingKey struct {
	Ref string
	Key crypto.Signer
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
	for r, e := range o.Existing {
		if r != PK && r != KEK && r != DB {
			return nil, fmt.Errorf("no role %q in a key set", r)
		}
		if e.Key == nil {
			return nil, fmt.Errorf("%s: %s is not open", r, e.Ref)
		}
		if err := CheckRef(e.Ref); err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		if err := checkRSA(e.Key.Public()); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", r, describe(e), err)
		}
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
		existing, isRef := o.Existing[r]
		p, err := newPair(o, r, existing.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		*set.Pair(r) = p
		if err := os.MkdirAll(filepath.Dir(KeyPath(dir, r)), 0o700); err != nil {
			return nil, err
		}
		kf, err := keyFileFor(dir, r, p.Key, existing.Ref, isRef)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		for _, f := range []keyFile{
			kf,
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
	if err := readBack(dir, set, o.Existing); err != nil {
		return nil, fmt.Errorf("reading the new keys back: %w", err)
	}
	return set, nil
}

// describe names an existing key for messages: its Description when it
// has one (pkg/signer's, which leaves out the PIN source and module).
func describe(e ExistingKey) string {
	if d, ok := e.Key.(interface{ Description() string }); ok {
		return d.Description()
	}
	return e.Ref
}

// keyFile is a file of the layout and its mode.
type keyFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// keyFileFor is where role r's key is recorded: its reference when it
// stays on a token or in a TPM (no secret: the PIN is read from where
// the reference says), else the key itself, PKCS#8.
func keyFileFor(dir string, r Role, key crypto.Signer, ref string, isRef bool) (keyFile, error) {
	if isRef {
		return keyFile{RefPath(dir, r), []byte(ref + "\n"), 0o644}, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return keyFile{}, err
	}
	return keyFile{KeyPath(dir, r), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600}, nil
}

// readBack reads the new files as Load would, without opening the
// tokens and TPMs again: key files go through the loader, which refuses
// a key that landed inside a Nix store (by any path: symlink, bind
// mount); references must read back as written.
func readBack(dir string, set *KeySet, existing map[Role]ExistingKey) error {
	certs, err := LoadCertificates(dir)
	if err != nil {
		return err
	}
	if certs.Owner != set.Owner {
		return fmt.Errorf("owner GUID %s, want %s", certs.Owner, set.Owner)
	}
	for _, r := range Roles {
		if e, ok := existing[r]; ok {
			ref, found, err := readRef(dir, r)
			if err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
			if !found || ref != e.Ref {
				return fmt.Errorf("%s: %s does not read back", r, RefPath(dir, r))
			}
			continue
		}
		key, _, err := keys.LoadPrivateKey(KeyPath(dir, r))
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		if !keys.MatchesPublic(key, certs.Pair(r).Cert.PublicKey) {
			return fmt.Errorf("%s: %s does not hold the key of %s", r, CertPath(dir, r), KeyPath(dir, r))
		}
	}
	return nil
}

func refuseExisting(dir string) error {
	paths := []string{GUIDPath(dir)}
	for _, r := range Roles {
		paths = append(paths, KeyPath(dir, r), RefPath(dir, r), CertPath(dir, r))
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

// newPair makes a self-signed certificate for key, or for a new RSA key
// when key is nil. The db certificate allows code signing (the
// Authenticode signer checks for it); none is a CA, as none issues
// certificates.
func newPair(o CreateOptions, r Role, key crypto.Signer) (Pair, error) {
	if key == nil {
		k, err := rsa.GenerateKey(o.Rand, o.Bits)
		if err != nil {
			return Pair{}, err
		}
		key = k
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
