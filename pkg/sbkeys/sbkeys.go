package sbkeys

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// Role names one key of the set, spelt as the variable it belongs to and
// as sbctl names its directory.
type Role string

const (
	PK  Role = "PK"
	KEK Role = "KEK"
	DB  Role = "db"
)

// Roles in the order they are created and listed.
var Roles = []Role{PK, KEK, DB}

// ErrExists is returned by Create when the directory already holds keys.
var ErrExists = errors.New("Secure Boot keys already exist")

// Pair is a signing key and its certificate. Key is any crypto.Signer: a
// key file's, a token's or a TPM's.
type Pair struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

// KeySet is the three keys and the owner GUID.
type KeySet struct {
	Owner       efivar.GUID
	PK, KEK, DB Pair
}

// Pair returns the key of role r.
func (s *KeySet) Pair(r Role) *Pair {
	switch r {
	case PK:
		return &s.PK
	case KEK:
		return &s.KEK
	default:
		return &s.DB
	}
}

// KeyPath and CertPath are where the layout keeps role r's files under
// dir.
func KeyPath(dir string, r Role) string {
	return filepath.Join(dir, "keys", string(r), string(r)+".key")
}

func CertPath(dir string, r Role) string {
	return filepath.Join(dir, "keys", string(r), string(r)+".pem")
}

// GUIDPath is where the layout keeps the owner GUID.
func GUIDPath(dir string) string { return filepath.Join(dir, "GUID") }

// maxGUIDFile bounds what is read of the GUID file.
const maxGUIDFile = 4096

// Load reads the key set in dir: each role's key from its NAME.key file
// or, when it has a NAME.ref file instead, from the token or TPM that
// reference names, through pkg/signer with opts (a RefKey: opened here
// to check it, then again for each signature, and closed each time).
// warnings are findings the caller should print (a key or PIN file
// others can read).
func Load(ctx context.Context, dir string, opts signer.Options) (*KeySet, []string, error) {
	owner, err := LoadOwner(dir)
	if err != nil {
		return nil, nil, err
	}
	set := &KeySet{Owner: owner}
	var warnings []string
	for _, r := range Roles {
		p, w, err := loadPair(ctx, dir, r, opts)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, w...)
		*set.Pair(r) = p
	}
	return set, warnings, nil
}

// LoadCertificates reads only the certificates and the owner GUID (for
// planning without signing, or checking what is enrolled): the Key of
// each pair is nil.
func LoadCertificates(dir string) (*KeySet, error) {
	owner, err := LoadOwner(dir)
	if err != nil {
		return nil, err
	}
	set := &KeySet{Owner: owner}
	for _, r := range Roles {
		c, err := loadCert(dir, r)
		if err != nil {
			return nil, err
		}
		set.Pair(r).Cert = c
	}
	return set, nil
}

// LoadOwner reads DIR/GUID: the GUID in its registry form, surrounding
// white space allowed (sbctl writes none, a hand-made file has a newline).
func LoadOwner(dir string) (efivar.GUID, error) {
	path := GUIDPath(dir)
	f, err := os.Open(path)
	if err != nil {
		return efivar.GUID{}, fmt.Errorf("owner GUID: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxGUIDFile)
	n, err := f.Read(b)
	if err != nil {
		return efivar.GUID{}, fmt.Errorf("owner GUID %s: %w", path, err)
	}
	g, err := efivar.ParseGUID(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return efivar.GUID{}, fmt.Errorf("owner GUID %s: %w", path, err)
	}
	return g, nil
}

// loadPair reads role r's certificate and its key.
func loadPair(ctx context.Context, dir string, r Role, opts signer.Options) (Pair, []string, error) {
	cert, err := loadCert(dir, r)
	if err != nil {
		return Pair{}, nil, err
	}
	ref, isRef, err := readRef(dir, r)
	if err != nil {
		return Pair{}, nil, fmt.Errorf("%s: %w", r, err)
	}
	var key crypto.Signer
	var warnings []string
	where := KeyPath(dir, r)
	if isRef {
		if _, err := os.Lstat(where); !errors.Is(err, fs.ErrNotExist) {
			return Pair{}, nil, fmt.Errorf("%s: both %s and %s exist; keep the one that holds the key", r, where, RefPath(dir, r))
		}
		k, err := OpenRef(ctx, ref, opts)
		if err != nil {
			return Pair{}, nil, fmt.Errorf("%s: %w", r, err)
		}
		key, warnings, where = k, k.Warnings(), k.Description()
	} else if key, warnings, err = keys.LoadPrivateKey(where); err != nil {
		return Pair{}, nil, fmt.Errorf("%s: %w", r, err)
	}
	if !keys.MatchesPublic(key, cert.PublicKey) {
		return Pair{}, nil, fmt.Errorf("%s: %s does not hold the key of %s", r, CertPath(dir, r), where)
	}
	return Pair{Key: key, Cert: cert}, warnings, nil
}

func loadCert(dir string, r Role) (*x509.Certificate, error) {
	certs, err := keys.LoadCertificates(CertPath(dir, r))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: %s holds %d certificates, want one", r, CertPath(dir, r), len(certs))
	}
	return certs[0], nil
}
