package measure

import (
	"crypto"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
)

// LoadKeys loads a PCR signing key pair for Sign: the private key through
// keys.LoadPrivateKey (which refuses keys under /nix/store and warns about
// keys others can read; the warnings are returned for the caller to print)
// and, when pubPath is not empty, the public key through
// keys.LoadPublicKey. The key must be RSA (ErrNotRSA) and the public key
// must be the private key's (ErrKeyMismatch). Without pubPath the public
// key is the private key's.
func LoadKeys(privPath, pubPath string) (crypto.Signer, crypto.PublicKey, []string, error) {
	priv, warnings, err := keys.LoadPrivateKey(privPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := rsaPublic(priv.Public()); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", privPath, err)
	}
	if pubPath == "" {
		return priv, priv.Public(), warnings, nil
	}
	pub, err := keys.LoadPublicKey(pubPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := rsaPublic(pub); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", pubPath, err)
	}
	if !keys.MatchesPublic(priv, pub) {
		return nil, nil, nil, fmt.Errorf("%s and %s: %w", privPath, pubPath, ErrKeyMismatch)
	}
	return priv, pub, warnings, nil
}
