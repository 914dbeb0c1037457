package bootcheck

import (
	"fmt"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/fsmagic"
)

// ErrUnknownFS is wrapped when an opened store image holds neither
// squashfs nor erofs.
var ErrUnknownFS = fsmagic.ErrUnknown

// storeFSType reads the file system type of an opened store image from
// its magic number (pkg/fsmagic). It reads through the verity device, so
// the bytes are verified; mounting then never asks the kernel to guess.
func storeFSType(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fs, err := fsmagic.Detect(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dev, err)
	}
	return fs, nil
}
