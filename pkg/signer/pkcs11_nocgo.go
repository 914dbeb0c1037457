//go:build !cgo

package signer

import (
	"context"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
)

// openPKCS11 without cgo: crypto11 cannot be linked, so pkcs11: keys are
// refused after the URI was checked.
func openPKCS11(_ context.Context, u *pkcs11uri.URI, _ *Options) (Signer, error) {
	if err := checkPKCS11Selectors(u); err != nil {
		return nil, err
	}
	return nil, ErrNoPKCS11
}
