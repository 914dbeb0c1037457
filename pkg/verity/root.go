package verity

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// CheckRoot is the cheap check made before a device is opened: it reads the
// superblock at opt.HashOffset, checks that both devices are large enough
// for the tree it describes (and, on one device, that the tree lies after
// the data), and that the top hash block (or, for a single-block image, the
// data block) hashes to root. It reads one block, whatever the image size.
// The kernel then verifies every other block as it is read. opt.Workers is
// not used.
func CheckRoot(data, hash ReaderAtSize, root []byte, opt VerifyOptions) (*Superblock, *Geometry, error) {
	if len(root) != DigestSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, %s needs %d", ErrRootHashLength, len(root), Algorithm, DigestSize)
	}
	sb, g, err := readHeader(data, hash, opt)
	if err != nil {
		return nil, nil, err
	}
	var block []byte
	var what string
	if len(g.Levels) == 0 {
		block = make([]byte, g.DataBlockSize)
		if err := readFull(data, block, 0); err != nil {
			return nil, nil, err
		}
		what = "the only data block"
	} else {
		top := g.Levels[len(g.Levels)-1]
		block = make([]byte, g.HashBlockSize)
		if err := readHash(hash, block, int64(top.Start)*int64(g.HashBlockSize)); err != nil {
			return nil, nil, err
		}
		what = "the top hash block"
	}
	var got [DigestSize]byte
	newSaltedHasher(sb.Salt).sum(got[:], block)
	if subtle.ConstantTimeCompare(got[:], root) != 1 {
		return nil, nil, fmt.Errorf("%w: %s hashes to %s, not %s (wrong root hash, salt or hash device)",
			ErrRootMismatch, what, hex.EncodeToString(got[:]), hex.EncodeToString(root))
	}
	return sb, g, nil
}

// readHeader reads the superblock and checks both devices against it before
// anything is allocated from its untrusted sizes.
func readHeader(data, hash ReaderAtSize, opt VerifyOptions) (*Superblock, *Geometry, error) {
	sb, err := ReadSuperblock(hash, int64(opt.HashOffset))
	if err != nil {
		return nil, nil, err
	}
	g, err := GeometryOf(sb, opt.HashOffset)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrSuperblock, err)
	}
	if opt.SameDevice {
		if err := g.CheckOverlap(); err != nil {
			return nil, nil, err
		}
	}
	if need, have := g.HashDeviceSize(), hash.Size(); have < need {
		return nil, nil, fmt.Errorf("%w: the tree for %d data blocks needs %d bytes, the hash device has %d",
			ErrTruncated, g.DataBlocks, need, have)
	}
	if need, have := g.DataSize(), data.Size(); have < need {
		return nil, nil, fmt.Errorf("%w: %d blocks of %d bytes need %d bytes, the data device has %d",
			ErrDataTooSmall, g.DataBlocks, g.DataBlockSize, need, have)
	}
	return sb, g, nil
}

func readHash(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: hash device ends at %d bytes, needed %d", ErrTruncated, off+int64(n), off+int64(len(b)))
	}
	return fmt.Errorf("reading hash device at %d: %w", off+int64(n), err)
}

// equalDigest compares digests without early exit.
func equalDigest(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
