package verity

import (
	"fmt"
	"math"
	"math/bits"
)

// Geometry is where each level of a hash tree lives on the hash device.
type Geometry struct {
	DataBlockSize uint32
	HashBlockSize uint32
	DataBlocks    uint64

	// Superblock says whether a superblock precedes the tree; HashOffset is
	// the byte offset of the superblock (or of the tree without one).
	Superblock bool
	HashOffset uint64

	// HashStart is the first tree block, counted in hash blocks from the
	// start of the hash device: the hash_start_block of the dm-verity
	// table line.
	HashStart uint64

	// Levels[0] holds the digests of the data blocks, the last level is the
	// top one (a single block). There are no levels when there is a single
	// data block: the root hash is then that block's digest.
	Levels []Level
}

// Level is one level of the tree: Blocks hash blocks from hash block Start.
type Level struct {
	Start  uint64
	Blocks uint64
}

// NewGeometry lays out the tree for dataBlocks blocks the way veritysetup
// does: levels are stored top first from HashStart, each level as many
// blocks as it needs to hold one entry per block of the level below.
func NewGeometry(dataBlockSize, hashBlockSize uint32, dataBlocks uint64, superblock bool, hashOffset uint64) (*Geometry, error) {
	if err := checkBlockSize("data", dataBlockSize); err != nil {
		return nil, err
	}
	if err := checkBlockSize("hash", hashBlockSize); err != nil {
		return nil, err
	}
	if dataBlocks == 0 {
		return nil, ErrEmpty
	}
	if dataBlocks > math.MaxInt64/uint64(dataBlockSize) {
		return nil, fmt.Errorf("%w: %d data blocks of %d bytes overflow", ErrParams, dataBlocks, dataBlockSize)
	}
	if hashOffset%512 != 0 {
		return nil, fmt.Errorf("%w: hash offset %d is not a multiple of 512", ErrParams, hashOffset)
	}
	g := &Geometry{
		DataBlockSize: dataBlockSize,
		HashBlockSize: hashBlockSize,
		DataBlocks:    dataBlocks,
		Superblock:    superblock,
		HashOffset:    hashOffset,
	}
	hbs := uint64(hashBlockSize)
	if superblock {
		g.HashStart = (hashOffset + SuperblockSize + hbs - 1) / hbs
	} else {
		if hashOffset%hbs != 0 {
			return nil, fmt.Errorf("%w: hash offset %d is not a multiple of the hash block size", ErrParams, hashOffset)
		}
		g.HashStart = hashOffset / hbs
	}

	// Each level has 2^shift fewer blocks than the one below, rounded up.
	shift := uint(bits.TrailingZeros32(hashBlockSize / DigestSize))
	n := 0
	for shift*uint(n) < 64 && (dataBlocks-1)>>(shift*uint(n)) != 0 {
		n++
	}
	if n > MaxLevels {
		return nil, fmt.Errorf("%w: tree of %d levels exceeds %d", ErrParams, n, MaxLevels)
	}
	g.Levels = make([]Level, n)
	pos := g.HashStart
	for i := n - 1; i >= 0; i-- {
		s := shift * uint(i+1)
		blocks := dataBlocks >> s
		if dataBlocks&(1<<s-1) != 0 {
			blocks++
		}
		g.Levels[i] = Level{Start: pos, Blocks: blocks}
		if pos+blocks < pos {
			return nil, fmt.Errorf("%w: hash tree size overflows", ErrParams)
		}
		pos += blocks
	}
	if pos > math.MaxInt64/hbs {
		return nil, fmt.Errorf("%w: hash tree size overflows", ErrParams)
	}
	return g, nil
}

// GeometryOf is the layout a superblock found at hashOffset describes.
func GeometryOf(sb *Superblock, hashOffset uint64) (*Geometry, error) {
	return NewGeometry(sb.DataBlockSize, sb.HashBlockSize, sb.DataBlocks, true, hashOffset)
}

// HashBlocks is the number of tree blocks, all levels together.
func (g *Geometry) HashBlocks() uint64 {
	var n uint64
	for _, l := range g.Levels {
		n += l.Blocks
	}
	return n
}

// HashDeviceSize is the number of bytes of hash device the tree needs,
// counted from the start of the device (so including HashOffset).
func (g *Geometry) HashDeviceSize() int64 {
	return int64((g.HashStart + g.HashBlocks()) * uint64(g.HashBlockSize))
}

// DataSize is the number of bytes of data device the tree covers.
func (g *Geometry) DataSize() int64 {
	return int64(g.DataBlocks) * int64(g.DataBlockSize)
}

// entriesPerBlock is how many digests a hash block holds.
func (g *Geometry) entriesPerBlock() int {
	return int(g.HashBlockSize / DigestSize)
}

// CheckOverlap is the rule for a tree on the data's own device: the hash
// area (from the superblock, or the first tree block without one, to the
// end of the tree) must start at or after the end of the data the tree
// covers. Otherwise the data would include the tree's own blocks, and the
// device's reads would see hash blocks as data. veritysetup format refuses
// such a layout ("Data area overlaps with hash area").
func (g *Geometry) CheckOverlap() error {
	if g.HashOffset < uint64(g.DataSize()) {
		return fmt.Errorf("%w: the hash area starts at byte %d, inside the %d data blocks of %d bytes (%d bytes) it covers",
			ErrOverlap, g.HashOffset, g.DataBlocks, g.DataBlockSize, g.DataSize())
	}
	return nil
}
