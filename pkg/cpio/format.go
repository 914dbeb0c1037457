package cpio

// On-disk layout of a newc ("new ASCII") header, as written by GNU cpio
// -H newc and read by the kernel's init/initramfs.c: the magic followed by
// thirteen 8-digit upper-case hexadecimal fields, then the NUL-terminated
// name padded so the data starts on a 4-byte boundary, then the data padded
// to 4 bytes.
const (
	magic      = "070701"
	headerSize = 6 + 13*8 // 110
	align      = 4

	// trailerName ends the archive; its entry has no data and inode 0.
	trailerName = "TRAILER!!!"
)

// Field order in a newc header (each 8 hex digits).
const (
	fieldIno = iota
	fieldMode
	fieldUID
	fieldGID
	fieldNlink
	fieldMtime
	fieldFilesize
	fieldDevmajor
	fieldDevminor
	fieldRdevmajor
	fieldRdevminor
	fieldNamesize // including the terminating NUL
	fieldCheck    // always 0 in newc (only the 070702 "crc" format uses it)
	numFields
)

// Type is the file-type part of a cpio mode (the S_IFMT bits of stat(2)).
type Type uint32

// File types, with the values of <sys/stat.h> that cpio stores in the mode.
const (
	TypeFIFO    Type = 0o010000
	TypeChar    Type = 0o020000
	TypeDir     Type = 0o040000
	TypeBlock   Type = 0o060000
	TypeReg     Type = 0o100000
	TypeSymlink Type = 0o120000
	TypeSocket  Type = 0o140000
)

// permMask keeps the permission, setuid, setgid and sticky bits.
const permMask = 0o7777

func (t Type) String() string {
	switch t {
	case TypeFIFO:
		return "fifo"
	case TypeChar:
		return "character device"
	case TypeDir:
		return "directory"
	case TypeBlock:
		return "block device"
	case TypeReg:
		return "regular file"
	case TypeSymlink:
		return "symlink"
	case TypeSocket:
		return "socket"
	}
	return "unknown type"
}

func (t Type) valid() bool { return t.String() != "unknown type" }
