package verity

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxReported bounds how many bad blocks a CorruptionError lists; the totals
// are always exact.
const MaxReported = 64

// VerifyOptions are the less common choices of Verify.
type VerifyOptions struct {
	// HashOffset is the byte offset of the superblock on the hash device
	// (non-zero when the tree is appended to the data device).
	HashOffset uint64
	// SameDevice says that data and hash tree are on one device (the tree
	// appended to the data, as veritysetup format --hash-offset writes
	// it). The tree, superblock included, must then lie wholly after the
	// data it covers: one that overlaps it is refused with ErrOverlap, as
	// veritysetup format refuses to write one.
	SameDevice bool
	// Workers is the number of hashing goroutines; zero means GOMAXPROCS.
	Workers int
}

// HashBlock names a block of the tree: its level (0 holds the data blocks'
// digests), its index in the level and its block number on the hash device.
type HashBlock struct {
	Level  int    `json:"level"`
	Index  uint64 `json:"index"`
	Device uint64 `json:"deviceBlock"`
}

// CorruptionError lists what Verify found wrong. errors.Is(err, ErrCorrupt)
// holds for it.
type CorruptionError struct {
	DataBlockSize uint32
	// DataBlocks are bad data blocks (at most MaxReported, ascending) and
	// BadData their total.
	DataBlocks []uint64
	BadData    uint64
	// HashBlocks are hash blocks that do not hash to their parent's entry
	// (at most MaxReported, top level first) and BadHash their total.
	HashBlocks []HashBlock
	BadHash    uint64
	// Detail explains a failure that is not about single blocks.
	Detail string
}

func (e *CorruptionError) Error() string {
	var parts []string
	if e.BadData > 0 {
		list := make([]string, len(e.DataBlocks))
		for i, b := range e.DataBlocks {
			list[i] = fmt.Sprintf("%d (offset %d)", b, b*uint64(e.DataBlockSize))
		}
		more := ""
		if e.BadData > uint64(len(list)) {
			more = fmt.Sprintf(", and %d more", e.BadData-uint64(len(list)))
		}
		parts = append(parts, fmt.Sprintf("%d bad data block(s): %s%s", e.BadData, strings.Join(list, ", "), more))
	}
	if e.BadHash > 0 {
		list := make([]string, len(e.HashBlocks))
		for i, b := range e.HashBlocks {
			list[i] = fmt.Sprintf("level %d block %d (hash device block %d)", b.Level, b.Index, b.Device)
		}
		more := ""
		if e.BadHash > uint64(len(list)) {
			more = fmt.Sprintf(", and %d more", e.BadHash-uint64(len(list)))
		}
		parts = append(parts, fmt.Sprintf("%d bad hash block(s): %s%s", e.BadHash, strings.Join(list, ", "), more))
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return "verity corruption: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// Verify checks a data device and its hash device against a trusted root
// hash, entirely in user space: it reads the superblock, recomputes the whole
// tree from the data in parallel and compares. It returns the superblock when
// everything matches; otherwise ErrRootMismatch when the hash device does not
// hash up to root at all (wrong root hash, salt or hash device), or a
// *CorruptionError naming the bad data blocks (with byte offsets) and bad
// hash blocks. Malformed input gives ErrSuperblock, ErrTruncated,
// ErrDataTooSmall, ErrOverlap or ErrRootHashLength.
func Verify(ctx context.Context, data, hash ReaderAtSize, root []byte, opt VerifyOptions) (*Superblock, error) {
	if len(root) != DigestSize {
		return nil, fmt.Errorf("%w: %d bytes, %s needs %d", ErrRootHashLength, len(root), Algorithm, DigestSize)
	}
	sb, g, err := readHeader(data, hash, opt)
	if err != nil {
		return nil, err
	}
	hbs := int64(g.HashBlockSize)

	// The sizes were checked against the hash device, so this allocation is
	// bounded by what is really there.
	disk := make([][]byte, len(g.Levels))
	for i, l := range g.Levels {
		disk[i] = make([]byte, int64(l.Blocks)*hbs)
		if err := readHash(hash, disk[i], int64(l.Start)*hbs); err != nil {
			return nil, err
		}
	}
	computed, err := computeLevels(ctx, data, g, sb.Salt, opt.Workers)
	if err != nil {
		return nil, err
	}
	rootOK := equalDigest(computed.root[:], root)
	same := true
	for i := range disk {
		if !bytes.Equal(disk[i], computed.blocks[i]) {
			same = false
			break
		}
	}
	if rootOK && same {
		return sb, nil
	}
	rootHex := hex.EncodeToString(root)
	if len(g.Levels) == 0 {
		return nil, fmt.Errorf("%w: the only data block hashes to %s, not %s",
			ErrRootMismatch, hex.EncodeToString(computed.root[:]), rootHex)
	}

	// Which stored hash blocks are authentic: the top one if it hashes to
	// root, each lower one if its parent is authentic and holds its digest.
	h := newSaltedHasher(sb.Salt)
	var digest [DigestSize]byte
	epb := uint64(g.entriesPerBlock())
	top := len(g.Levels) - 1
	h.sum(digest[:], disk[top])
	if !equalDigest(digest[:], root) {
		if rootOK {
			return nil, &CorruptionError{DataBlockSize: g.DataBlockSize,
				Detail: "the data hashes to the root hash but the hash device does not: the hash device is corrupt or belongs to another image"}
		}
		return nil, fmt.Errorf("%w: neither the hash device nor the data hash to %s (wrong root hash, salt or hash device)",
			ErrRootMismatch, rootHex)
	}
	ce := &CorruptionError{DataBlockSize: g.DataBlockSize}
	authentic := make([][]bool, len(g.Levels))
	authentic[top] = []bool{true}
	for lvl := top - 1; lvl >= 0; lvl-- {
		authentic[lvl] = make([]bool, g.Levels[lvl].Blocks)
		for b := uint64(0); b < g.Levels[lvl].Blocks; b++ {
			p := b / epb
			if !authentic[lvl+1][p] {
				continue // its parent was reported already
			}
			h.sum(digest[:], disk[lvl][b*uint64(hbs):(b+1)*uint64(hbs)])
			if equalDigest(digest[:], disk[lvl+1][b*DigestSize:(b+1)*DigestSize]) {
				authentic[lvl][b] = true
				continue
			}
			ce.BadHash++
			if len(ce.HashBlocks) < MaxReported {
				ce.HashBlocks = append(ce.HashBlocks, HashBlock{Level: lvl, Index: b, Device: g.Levels[lvl].Start + b})
			}
		}
	}
	for d := uint64(0); d < g.DataBlocks; d++ {
		if !authentic[0][d/epb] {
			continue
		}
		e := disk[0][d*DigestSize : (d+1)*DigestSize]
		if !bytes.Equal(e, computed.blocks[0][d*DigestSize:(d+1)*DigestSize]) {
			ce.BadData++
			if len(ce.DataBlocks) < MaxReported {
				ce.DataBlocks = append(ce.DataBlocks, d)
			}
		}
	}
	if ce.BadData == 0 && ce.BadHash == 0 {
		ce.Detail = "the stored hash tree differs from the one computed from the data (non-zero padding in hash blocks)"
	}
	return nil, ce
}
