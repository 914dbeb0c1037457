package sbkeys

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// A role whose key stays on a PKCS#11 token or in a TPM has, in place of
// NAME.key, a NAME.ref file holding the key's reference (pkg/signer) on
// one line. sbctl and lanzaboote do not read it; a set that has one is
// ours alone.

// maxRefFile bounds what is read of a .ref file.
const maxRefFile = 8192

// ErrNotRSA is returned for a key that is not RSA 2048 or 4096: edk2, and
// so OVMF, takes no other in PK, KEK and db.
var ErrNotRSA = errors.New("not an RSA 2048 or 4096 key (firmware takes no other in PK, KEK and db)")

// RefPath is where the layout keeps the reference of role r's key when
// the key is not a file.
func RefPath(dir string, r Role) string {
	return filepath.Join(dir, "keys", string(r), string(r)+".ref")
}

// ParseRef reads the contents of a .ref file: one reference to a token's
// or TPM's key, surrounding white space allowed. A path (a key file) is
// refused: a file key is NAME.key, where sbctl finds it.
func ParseRef(data []byte) (string, error) {
	if len(data) > maxRefFile {
		return "", fmt.Errorf("%w: more than %d bytes", signer.ErrReference, maxRefFile)
	}
	ref := string(bytes.TrimSpace(data))
	if ref == "" {
		return "", fmt.Errorf("%w: empty", signer.ErrReference)
	}
	if strings.ContainsAny(ref, "\r\n") {
		return "", fmt.Errorf("%w: more than one line", signer.ErrReference)
	}
	if err := CheckRef(ref); err != nil {
		return "", err
	}
	return ref, nil
}

// CheckRef accepts a reference fit to be recorded in a key set: a pkcs11:
// URI or a tpm: reference whose paths are absolute (the set is used from
// any working directory) and whose PKCS#11 PIN is not in the URI.
func CheckRef(ref string) error {
	switch signer.KindOf(ref) {
	case signer.KindPKCS11:
		u, err := pkcs11uri.Parse(ref)
		if err != nil {
			return fmt.Errorf("%w: %w", signer.ErrReference, err)
		}
		if u.HasPINValue {
			return signer.ErrPINValue
		}
		file, err := u.PINFile()
		if err != nil {
			return fmt.Errorf("%w: %w", signer.ErrReference, err)
		}
		return absolute("pin-source", file)
	case signer.KindTPM:
		r, err := signer.ParseTPMRef(ref)
		if err != nil {
			return err
		}
		if err := absolute("blob", r.Blob); err != nil {
			return err
		}
		return absolute("device", r.Device)
	}
	return fmt.Errorf("%w: %q is neither a pkcs11: URI nor a tpm: reference (a key file belongs at keys/ROLE/ROLE.key)", signer.ErrReference, ref)
}

func absolute(attr, path string) error {
	if path != "" && !filepath.IsAbs(path) {
		return fmt.Errorf("%w: %s %q is relative; give an absolute path (the key set is used from any directory)", signer.ErrReference, attr, path)
	}
	return nil
}

// checkRSA refuses a public key PK, KEK or db cannot hold.
func checkRSA(pub crypto.PublicKey) error {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: a %T", ErrNotRSA, pub)
	}
	if n := k.N.BitLen(); n != 2048 && n != 4096 {
		return fmt.Errorf("%w: RSA %d", ErrNotRSA, n)
	}
	return nil
}

// readRef reads role r's .ref file; ok is false when there is none.
func readRef(dir string, r Role) (ref string, ok bool, err error) {
	f, err := os.Open(RefPath(dir, r))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRefFile+1))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", RefPath(dir, r), err)
	}
	ref, err = ParseRef(data)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", RefPath(dir, r), err)
	}
	return ref, true, nil
}
