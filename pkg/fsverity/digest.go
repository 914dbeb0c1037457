package fsverity

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
)

// The parameters fixed by this package (fsverity.rst: "fs-verity descriptor").
const (
	BlockSize     = 4096 // Merkle tree block size, log2 12
	logBlockSize  = 12   //
	hashAlgSHA256 = 1    // FS_VERITY_HASH_ALG_SHA256
	descVersion   = 1    // fsverity_descriptor.version
	descSize      = 256  // sizeof(struct fsverity_descriptor)
	rootHashField = 64   // fsverity_descriptor.root_hash: room for the largest hash
	hashesPerBlk  = BlockSize / sha256.Size
	maxLevels     = 8 // FS_VERITY_MAX_LEVELS
)

// ErrTooLarge reports data whose tree would need more levels than the
// kernel supports (FS_VERITY_MAX_LEVELS), far beyond any real file.
var ErrTooLarge = errors.New("fs-verity: data too large for the Merkle tree")

// Hasher computes an fs-verity file digest over the bytes written to it.
// Its zero value is ready to use; Reset makes it reusable.
type Hasher struct {
	block  [BlockSize]byte // the data block being filled
	filled int             // bytes in block
	blocks uint64          // data blocks hashed so far
	size   uint64          // data bytes written
	// levels[i] is the tree block of level i being filled with the hashes
	// of level i-1 (level 0: of data blocks); lens[i] is its fill.
	levels [maxLevels + 1][BlockSize]byte
	lens   [maxLevels + 1]int
	err    error
}

// Reset forgets everything written.
func (h *Hasher) Reset() {
	h.filled, h.blocks, h.size, h.err = 0, 0, 0, nil
	h.lens = [maxLevels + 1]int{}
}

// Size returns the number of bytes written.
func (h *Hasher) Size() int64 { return int64(h.size) }

// Write hashes p. It fails only for data beyond the tree's capacity.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && h.err == nil {
		if h.filled == 0 && len(p) >= BlockSize {
			// Whole blocks straight from p, without a copy.
			h.dataBlock(p[:BlockSize])
			p = p[BlockSize:]
			h.size += BlockSize
			continue
		}
		c := copy(h.block[h.filled:], p)
		h.filled += c
		h.size += uint64(c)
		p = p[c:]
		if h.filled == BlockSize {
			h.dataBlock(h.block[:])
			h.filled = 0
		}
	}
	if h.err != nil {
		return 0, h.err
	}
	return n, nil
}

// dataBlock hashes one full data block into level 0.
func (h *Hasher) dataBlock(b []byte) {
	sum := sha256.Sum256(b)
	h.blocks++
	h.push(0, sum)
}

// push appends a hash to the tree block of level, hashing the block into
// the level above once it is full (as libfsverity does, so full blocks move
// up as soon as they fill).
func (h *Hasher) push(level int, sum [sha256.Size]byte) {
	for {
		if level > maxLevels {
			h.err = ErrTooLarge
			return
		}
		copy(h.levels[level][h.lens[level]:], sum[:])
		h.lens[level] += sha256.Size
		if h.lens[level] < BlockSize {
			return
		}
		sum = sha256.Sum256(h.levels[level][:])
		h.lens[level] = 0
		level++
	}
}

// RootHash returns the Merkle tree's root hash of the data written so far.
// It does not change the Hasher's state.
func (h *Hasher) RootHash() ([sha256.Size]byte, error) {
	var root [sha256.Size]byte
	if h.err != nil {
		return root, h.err
	}
	if h.size == 0 {
		return root, nil // fsverity.rst: the root hash of an empty file is all zeros
	}
	c := *h // finishing pads blocks; work on a copy
	if c.filled > 0 {
		clear(c.block[c.filled:])
		c.dataBlock(c.block[:])
	}
	if c.blocks == 1 {
		// One data block: its hash is the root (no tree block at all).
		copy(root[:], c.levels[0][:sha256.Size])
		return root, nil
	}
	// The tree has as many levels as it takes to reach one block.
	levels := 0
	for n := c.blocks; n > 1; levels++ {
		n = (n + hashesPerBlk - 1) / hashesPerBlk
	}
	for l := 0; l < levels; l++ {
		if c.lens[l] > 0 {
			clear(c.levels[l][c.lens[l]:])
			sum := sha256.Sum256(c.levels[l][:])
			c.lens[l] = 0
			c.push(l+1, sum)
			if c.err != nil {
				return root, c.err
			}
		}
	}
	copy(root[:], c.levels[levels][:sha256.Size])
	return root, nil
}

// Sum returns the fs-verity file digest of the data written so far: the
// SHA-256 of the fs-verity descriptor. It does not change the Hasher's state.
func (h *Hasher) Sum() ([sha256.Size]byte, error) {
	root, err := h.RootHash()
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(descriptor(h.size, root)), nil
}

// descriptor lays out struct fsverity_descriptor (no salt, no signature).
func descriptor(size uint64, root [sha256.Size]byte) []byte {
	d := make([]byte, descSize)
	d[0] = descVersion
	d[1] = hashAlgSHA256
	d[2] = logBlockSize
	d[3] = 0 // salt_size
	// d[4:8]: reserved (sig_size in the kernel's copy), zero for the digest
	binary.LittleEndian.PutUint64(d[8:16], size)
	copy(d[16:16+rootHashField], root[:])
	// salt[32] and reserved[144]: zero
	return d
}

// Digest reads r to its end and returns its fs-verity file digest and the
// number of bytes read.
func Digest(r io.Reader) ([sha256.Size]byte, int64, error) {
	var h Hasher
	n, err := io.CopyBuffer(&h, r, make([]byte, 64<<10))
	if err != nil {
		return [sha256.Size]byte{}, n, err
	}
	sum, err := h.Sum()
	return sum, n, err
}
