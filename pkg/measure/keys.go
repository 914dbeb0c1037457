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
	pub, err := CheckKeys(priv, privPath, pubPath)
	if err != nil {
		return nil, nil, nil, err
	}
	return priv, pub, warnings, nil
}

// CheckKeys checks a PCR signing key opened elsewhere (a token, a TPM),
// named privName in messages, as LoadKeys checks a key file: RSA, and the
// public key at pubPath, when not empty, its own. It returns the public
// key to put in .pcrpkey.
func CheckKeys(priv crypto.Signer, privName, pubPath string) (crypto.PublicKey, error) {
	if _, err := rsaPublic(priv.Public()); err != nil {
		return nil, fmt.Errorf("%s: %w", privName, err)
	}
	if pubPath == "" {
		return priv.Public(), nil
	}
	pub, err := keys.LoadPublicKey(pubPath)
	if err != nil {
		return nil, err
	}
	if _, err := rsaPublic(pub); err != nil {
		return nil, fmt.Errorf("%s: %w", pubPath, err)
	}
	if !keys.MatchesPublic(priv, pub) {
		return nil, fmt.Errorf("%s and %s: %w", privName, pubPath, ErrKeyMismatch)
	}
	return pub, nil
}
