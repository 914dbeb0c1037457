package install

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// ErrKey is wrapped by errors opening the signing key or certificate.
var ErrKey = errors.New("signing key")

// openSigner opens the Secure Boot signing key (a file, pkcs11: or tpm:
// reference, through pkg/signer as nix-uki build does) and its certificate
// chain. The returned key is closed by the caller once every image is
// signed.
func openSigner(ctx context.Context, keyRef, certPath string) (*authenticode.Signer, signer.Signer, error) {
	s, key, err := signer.OpenAuthenticode(ctx, keyRef, certPath, signer.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return s, key, nil
}

// openPCRKey opens the PCR policy signing key (any reference) and checks
// it, as nix-uki build does.
func openPCRKey(ctx context.Context, keyRef, pubPath string) (signer.Signer, crypto.PublicKey, error) {
	key, pub, err := signer.OpenPCR(ctx, keyRef, pubPath, signer.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return key, pub, nil
}
