package bootcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrUnknownFS is wrapped when an opened store image holds neither
// squashfs nor erofs.
var ErrUnknownFS = errors.New("store image is neither squashfs nor erofs")

// Magic numbers (squashfs: fs/squashfs/squashfs_fs.h, "hsqs" at 0; erofs:
// fs/erofs/erofs_fs.h, EROFS_SUPER_MAGIC_V1 at 1024, little-endian).
const (
	squashfsMagic = "hsqs"
	erofsMagic    = 0xE0F5E1E2
	erofsOffset   = 1024
)

// storeFSType reads the file system type of an opened store image from
// its magic number. It reads through the verity device, so the bytes are
// verified; mounting then never asks the kernel to guess.
func storeFSType(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, erofsOffset+4)
	if _, err := io.ReadFull(f, head); err != nil {
		return "", fmt.Errorf("reading %s: %w", dev, err)
	}
	switch {
	case bytes.Equal(head[:4], []byte(squashfsMagic)):
		return "squashfs", nil
	case binary.LittleEndian.Uint32(head[erofsOffset:]) == erofsMagic:
		return "erofs", nil
	}
	return "", fmt.Errorf("%s: %w", dev, ErrUnknownFS)
}
