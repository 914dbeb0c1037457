package signer

import (
	"context"
	"crypto"

	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
)

// OpenPCR opens the PCR policy signing key keyRef names and checks it, and
// the public key file at pubPath when not empty, as measure.LoadKeys checks
// a key file. It returns the key (closed by the caller) and the public key
// to put in .pcrpkey. nix-uki build and measure and the installer call it.
func OpenPCR(ctx context.Context, keyRef, pubPath string, opts Options) (Signer, crypto.PublicKey, error) {
	key, err := Open(ctx, keyRef, opts)
	if err != nil {
		return nil, nil, err
	}
	pub, err := measure.CheckKeys(key, key.Description(), pubPath)
	if err != nil {
		key.Close()
		return nil, nil, err
	}
	return key, pub, nil
}
