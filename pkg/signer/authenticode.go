package signer

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
)

// OpenAuthenticode opens the key keyRef names (a file, pkcs11: or tpm:
// reference) and the certificate file certPath (the signing certificate,
// then any intermediates to embed, PEM) as an Authenticode signer, checked
// with authenticode.Signer.Check. It is what the installer and nix-uki's
// build and sign call. The caller closes the returned Signer (the key)
// once done and prints its Warnings.
func OpenAuthenticode(ctx context.Context, keyRef, certPath string, opts Options) (*authenticode.Signer, Signer, error) {
	chain, err := keys.LoadCertificates(certPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := Open(ctx, keyRef, opts)
	if err != nil {
		return nil, nil, err
	}
	s := &authenticode.Signer{Key: key, Chain: chain}
	if err := s.Check(); err != nil {
		key.Close()
		return nil, nil, fmt.Errorf("%s and %s: %w", key.Description(), certPath, err)
	}
	return s, key, nil
}
