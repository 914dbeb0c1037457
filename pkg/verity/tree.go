package verity

import (
	"context"
	"fmt"
	"io"
)

// ReaderAtSize is a data or hash device of known size, such as an
// *io.SectionReader over a file or block device, or a *bytes.Reader.
type ReaderAtSize interface {
	io.ReaderAt
	Size() int64
}

// Params are the choices `veritysetup format` takes. Zero block sizes mean
// DefaultBlockSize. The caller picks the salt and UUID (random ones make
// veritysetup's defaults; fixed ones make the output reproducible).
type Params struct {
	DataBlockSize uint32
	HashBlockSize uint32

	// DataBlocks is the number of blocks to cover; zero means every
	// complete block of the data device. Like veritysetup, a partial block
	// at the end of the data device is not covered (and not visible through
	// dm-verity).
	DataBlocks uint64

	Salt         []byte
	UUID         [16]byte
	NoSuperblock bool

	// Workers is the number of hashing goroutines; zero means GOMAXPROCS.
	Workers int
}

// Tree is a computed hash tree, ready to be written to a hash device.
type Tree struct {
	Geometry *Geometry
	// Superblock is nil when Params.NoSuperblock was set.
	Superblock *Superblock
	Salt       []byte
	levels     *levels
}

// Compute hashes the data device into a tree. It reads the data once, in
// parallel, holding only the hash levels in memory.
func Compute(ctx context.Context, data ReaderAtSize, p Params) (*Tree, error) {
	dbs, hbs := p.DataBlockSize, p.HashBlockSize
	if dbs == 0 {
		dbs = DefaultBlockSize
	}
	if hbs == 0 {
		hbs = DefaultBlockSize
	}
	if err := checkBlockSize("data", dbs); err != nil {
		return nil, err
	}
	if len(p.Salt) > MaxSaltSize {
		return nil, fmt.Errorf("%w: salt of %d bytes exceeds %d", ErrParams, len(p.Salt), MaxSaltSize)
	}
	complete := uint64(data.Size()) / uint64(dbs)
	blocks := p.DataBlocks
	if blocks == 0 {
		blocks = complete
		if blocks == 0 {
			return nil, fmt.Errorf("%w: %d bytes is less than one %d-byte block", ErrEmpty, data.Size(), dbs)
		}
	} else if blocks > complete {
		return nil, fmt.Errorf("%w: %d blocks asked for, the data device has %d", ErrDataTooSmall, blocks, complete)
	}
	g, err := NewGeometry(dbs, hbs, blocks, !p.NoSuperblock, 0)
	if err != nil {
		return nil, err
	}
	salt := append([]byte(nil), p.Salt...)
	t := &Tree{Geometry: g, Salt: salt}
	if !p.NoSuperblock {
		t.Superblock = &Superblock{
			Version:       SuperblockVersion,
			HashType:      HashTypeNormal,
			UUID:          p.UUID,
			Algorithm:     Algorithm,
			DataBlockSize: dbs,
			HashBlockSize: hbs,
			DataBlocks:    blocks,
			Salt:          salt,
		}
	}
	if t.levels, err = computeLevels(ctx, data, g, salt, p.Workers); err != nil {
		return nil, err
	}
	return t, nil
}

// RootHash is the digest that authenticates the whole tree and data.
func (t *Tree) RootHash() []byte {
	return append([]byte(nil), t.levels.root[:]...)
}

// WriteTo writes the hash device as veritysetup does: superblock, zeros up to
// the first hash block, then the levels top first. Exactly
// Geometry.HashDeviceSize() bytes are written.
func (t *Tree) WriteTo(w io.Writer) (int64, error) {
	var written int64
	put := func(b []byte) error {
		n, err := w.Write(b)
		written += int64(n)
		if err != nil {
			return fmt.Errorf("writing hash tree: %w", err)
		}
		return nil
	}
	if t.Superblock != nil {
		sb, err := t.Superblock.MarshalBinary()
		if err != nil {
			return 0, err
		}
		head := make([]byte, t.Geometry.HashStart*uint64(t.Geometry.HashBlockSize))
		copy(head, sb)
		if err := put(head); err != nil {
			return written, err
		}
	}
	for i := len(t.levels.blocks) - 1; i >= 0; i-- {
		if err := put(t.levels.blocks[i]); err != nil {
			return written, err
		}
	}
	return written, nil
}
