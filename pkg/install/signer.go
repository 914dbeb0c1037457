package install

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
)

// ErrKey is wrapped by errors opening the signing key or certificate.
var ErrKey = errors.New("signing key")

// openSigner opens the Secure Boot signing key and its certificate chain.
// It is the one place keys are opened, so key references (pkcs11:, tpm:)
// come in through pkg/signer here alone. A key under the Nix store is
// refused (pkg/keys), as is a missing one, naming the path.
func openSigner(keyRef, certPath string) (*authenticode.Signer, []string, error) {
	if strings.HasPrefix(keyRef, "pkcs11:") || strings.HasPrefix(keyRef, "tpm:") {
		return nil, nil, fmt.Errorf("%w: %s: key references are not supported by this build yet (a PEM key file is)", ErrKey, keyRef)
	}
	var key crypto.Signer
	key, warnings, err := keys.LoadPrivateKey(keyRef)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrKey, keyRef, err)
	}
	var chain []*x509.Certificate
	if chain, err = keys.LoadCertificates(certPath); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrKey, certPath, err)
	}
	s := &authenticode.Signer{Key: key, Chain: chain}
	if err := s.Check(); err != nil {
		return nil, nil, fmt.Errorf("%w: %s and %s: %w", ErrKey, keyRef, certPath, err)
	}
	return s, warnings, nil
}
