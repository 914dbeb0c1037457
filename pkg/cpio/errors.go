package cpio

import "errors"

// Errors callers may branch on; returned wrapped with the entry's name.
var (
	ErrName      = errors.New("cpio: invalid entry name")
	ErrOrder     = errors.New("cpio: entries not in sorted order")
	ErrNoParent  = errors.New("cpio: parent directory not written before entry")
	ErrDuplicate = errors.New("cpio: duplicate entry")
	ErrHeader    = errors.New("cpio: invalid header")
	ErrTooLarge  = errors.New("cpio: value too large for newc header")
	ErrSize      = errors.New("cpio: contents do not match announced size")
	ErrClosed    = errors.New("cpio: write after close")
)
