package verity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Superblock is struct verity_sb, the 512-byte header veritysetup writes at
// the start of the hash device. Its salt and sizes are untrusted until the
// tree they describe hashes up to a trusted root hash.
type Superblock struct {
	Version       uint32
	HashType      uint32
	UUID          [16]byte
	Algorithm     string
	DataBlockSize uint32
	HashBlockSize uint32
	DataBlocks    uint64
	Salt          []byte
}

// MarshalBinary encodes the superblock in its 512-byte on-disk form; the
// padding is zero, as veritysetup leaves it.
func (sb *Superblock) MarshalBinary() ([]byte, error) {
	if err := sb.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, SuperblockSize)
	le := binary.LittleEndian
	copy(b[offSignature:], Signature)
	le.PutUint32(b[offVersion:], sb.Version)
	le.PutUint32(b[offHashType:], sb.HashType)
	copy(b[offUUID:], sb.UUID[:])
	copy(b[offAlgorithm:offAlgorithm+algorithmLen], sb.Algorithm)
	le.PutUint32(b[offDataBlockSize:], sb.DataBlockSize)
	le.PutUint32(b[offHashBlockSize:], sb.HashBlockSize)
	le.PutUint64(b[offDataBlocks:], sb.DataBlocks)
	le.PutUint16(b[offSaltSize:], uint16(len(sb.Salt)))
	copy(b[offSalt:], sb.Salt)
	return b, nil
}

// UnmarshalBinary decodes and validates a superblock read from an untrusted
// hash device.
func (sb *Superblock) UnmarshalBinary(b []byte) error {
	if len(b) < SuperblockSize {
		return fmt.Errorf("%w: %d bytes, need %d", ErrSuperblock, len(b), SuperblockSize)
	}
	if string(b[offSignature:offSignature+len(Signature)]) != Signature {
		return fmt.Errorf("%w: no %q signature", ErrSuperblock, "verity")
	}
	le := binary.LittleEndian
	alg := b[offAlgorithm : offAlgorithm+algorithmLen]
	if i := bytes.IndexByte(alg, 0); i >= 0 {
		alg = alg[:i]
	}
	saltSize := le.Uint16(b[offSaltSize:])
	if saltSize > MaxSaltSize {
		return fmt.Errorf("%w: salt size %d exceeds %d", ErrSuperblock, saltSize, MaxSaltSize)
	}
	*sb = Superblock{
		Version:       le.Uint32(b[offVersion:]),
		HashType:      le.Uint32(b[offHashType:]),
		Algorithm:     string(alg),
		DataBlockSize: le.Uint32(b[offDataBlockSize:]),
		HashBlockSize: le.Uint32(b[offHashBlockSize:]),
		DataBlocks:    le.Uint64(b[offDataBlocks:]),
		Salt:          bytes.Clone(b[offSalt : offSalt+int(saltSize)]),
	}
	copy(sb.UUID[:], b[offUUID:])
	if err := sb.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrSuperblock, err)
	}
	return nil
}

// ReadSuperblock reads and validates the superblock at offset off of the
// hash device.
func ReadSuperblock(r io.ReaderAt, off int64) (*Superblock, error) {
	b := make([]byte, SuperblockSize)
	if _, err := r.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: hash device too small for a superblock", ErrTruncated)
		}
		return nil, fmt.Errorf("reading verity superblock: %w", err)
	}
	sb := new(Superblock)
	if err := sb.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return sb, nil
}

func (sb *Superblock) validate() error {
	switch {
	case sb.Version != SuperblockVersion:
		return fmt.Errorf("%w: superblock version %d, only %d is supported", ErrParams, sb.Version, SuperblockVersion)
	case sb.HashType != HashTypeNormal:
		return fmt.Errorf("%w: hash type %d, only %d is supported", ErrParams, sb.HashType, HashTypeNormal)
	case sb.Algorithm != Algorithm:
		return fmt.Errorf("%w: hash algorithm %q, only %s is supported", ErrParams, sb.Algorithm, Algorithm)
	case len(sb.Salt) > MaxSaltSize:
		return fmt.Errorf("%w: salt of %d bytes exceeds %d", ErrParams, len(sb.Salt), MaxSaltSize)
	case sb.DataBlocks == 0:
		return fmt.Errorf("%w: no data blocks", ErrParams)
	}
	if err := checkBlockSize("data", sb.DataBlockSize); err != nil {
		return err
	}
	return checkBlockSize("hash", sb.HashBlockSize)
}

func checkBlockSize(what string, n uint32) error {
	if n < MinBlockSize || n > MaxBlockSize || bits.OnesCount32(n) != 1 {
		return fmt.Errorf("%w: %s block size %d is not a power of two from %d to %d",
			ErrParams, what, n, MinBlockSize, MaxBlockSize)
	}
	return nil
}
