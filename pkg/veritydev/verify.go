package veritydev

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
)

// Verify checks the image and its whole tree against o.RootHash in user
// space (verity.Verify), with workers hashing goroutines (0: one per CPU).
// Only Image, HashPath, HashOffset and RootHash of o are used.
func Verify(ctx context.Context, o Options, workers int) (*verity.Superblock, error) {
	devs, err := openDevices(o.Image, o.hashPath())
	if err != nil {
		return nil, err
	}
	defer devs.close()
	sb, err := verity.Verify(ctx, devs.data.r, devs.hash.r, o.RootHash,
		verity.VerifyOptions{HashOffset: o.HashOffset, SameDevice: devs.same, Workers: workers})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Image, err)
	}
	return sb, nil
}
