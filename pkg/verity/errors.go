package verity

import "errors"

// Errors callers branch on. Malformed input (ErrSuperblock, ErrTruncated,
// ErrRootHashLength, ErrParams, ErrNotHex, ErrUUID, ErrOverlap) is an input
// error; ErrRootMismatch and ErrCorrupt mean something was checked and
// found wrong.
var (
	ErrSuperblock     = errors.New("invalid verity superblock")
	ErrParams         = errors.New("invalid verity parameters")
	ErrTruncated      = errors.New("hash device truncated")
	ErrDataTooSmall   = errors.New("data device smaller than the superblock says")
	ErrRootHashLength = errors.New("root hash has the wrong length")
	ErrRootMismatch   = errors.New("root hash does not match")
	ErrCorrupt        = errors.New("verity corruption")
	ErrEmpty          = errors.New("image has no complete data block")
	ErrNotHex         = errors.New("not hex")
	ErrUUID           = errors.New("not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	// ErrOverlap: data and hash tree share a device and the tree (or its
	// superblock) lies inside the data it covers.
	ErrOverlap = errors.New("hash area overlaps the data area")
)
