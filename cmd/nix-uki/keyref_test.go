package main

import (
	"fmt"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// TestKeyErrorWithoutPKCS11: the line a CGO_ENABLED=0 nix-uki prints for a
// pkcs11: key (pkg/signer's nocgo test proves the error is returned).
func TestKeyErrorWithoutPKCS11(t *testing.T) {
	err := keyError(fmt.Errorf("opening: %w", signer.ErrNoPKCS11))
	if err.Error() != "this nix-uki was built without PKCS#11 support (CGO_ENABLED=0)" || cli.Code(err) != cli.ExitUsage {
		t.Fatalf("%q, status %d", err, cli.Code(err))
	}
	if err := keyError(signer.ErrNoToken); cli.Code(err) != cli.ExitUsage {
		t.Fatalf("status %d", cli.Code(err))
	}
}
