// Package fsmagic tells which read-only file system a store image holds,
// squashfs or erofs, from its magic number, so that an image is mounted
// (and named on an ISO) as what it is, never as what the kernel guesses.
//
// Magic numbers: squashfs "hsqs" at byte 0 (fs/squashfs/squashfs_fs.h);
// erofs EROFS_SUPER_MAGIC_V1 0xE0F5E1E2, little-endian, at byte 1024
// (fs/erofs/erofs_fs.h).
//
// Input trust: none; 1028 bytes are read and compared, nothing else.
package fsmagic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The file systems told apart.
const (
	Squashfs = "squashfs"
	Erofs    = "erofs"
)

// ErrUnknown is returned for an image that holds neither.
var ErrUnknown = errors.New("neither squashfs nor erofs")

const (
	squashfsMagic = "hsqs"
	erofsMagic    = 0xE0F5E1E2
	erofsOffset   = 1024
)

// Detect reads the magic numbers at the start of r.
func Detect(r io.ReaderAt) (string, error) {
	head := make([]byte, erofsOffset+4)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case len(head) >= 4 && bytes.Equal(head[:4], []byte(squashfsMagic)):
		return Squashfs, nil
	case len(head) == erofsOffset+4 && binary.LittleEndian.Uint32(head[erofsOffset:]) == erofsMagic:
		return Erofs, nil
	}
	return "", fmt.Errorf("%w (no magic number of either)", ErrUnknown)
}
