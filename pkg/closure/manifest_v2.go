package closure

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// The manifest format, version 2: version 1's store paths, each followed by
// every entry inside it (NAR calls them nodes), so a store can be checked
// file by file and each file named when it differs. Every line ends in
// "\n"; fields are separated by one space:
//
//	nix-closure-manifest 2
//	store-dir /nix/store
//	paths <number of store paths>
//	nar-bytes <sum of the NAR sizes>
//	entries <number of entry lines>
//	file-bytes <sum of the regular files' sizes>
//	path <store path> sha256:<nix32 NAR hash> <NAR size> <number of entries>
//	d <path>                                            a directory
//	r <size> <sha256 hex> <fs-verity digest hex> <path>  a regular file (x: executable)
//	l <path> <target>                                   a symlink
//	...
//	end
//
// Store paths are sorted byte-wise, as in version 1. A store path's entries
// follow it in the order of its NAR: the store path itself first (its path
// is "."), then depth first, each directory's entries sorted byte-wise by
// name. Entry paths are relative to the store path. A path or target is
// written with every byte outside '!'..'~', and '%' itself, as %XX (two
// upper-case hex digits), and nothing else escaped, so each name has one
// spelling and a line has no spaces inside a field. The sha256 is that of
// the file's contents; the fs-verity digest is what `fsverity digest`
// prints for it (SHA-256, 4096-byte blocks, no salt; package fsverity).
//
// Readers check what version 1 readers check, and also that every entry
// count and total agrees, that the entries are in NAR order with no
// duplicates, that every name is a valid file name (not empty, ".", ".." or
// longer than 255 bytes, no NUL), and that each store path's entries add up
// to its NAR size exactly (the NAR's structure is fully determined by its
// entries).
const ManifestVersion2 = 2

// NodeType is the type of an entry inside a store path.
type NodeType byte

// The entry types NAR knows.
const (
	NodeDirectory NodeType = 'd'
	NodeRegular   NodeType = 'r'
	NodeSymlink   NodeType = 'l'
)

func (t NodeType) String() string {
	switch t {
	case NodeDirectory:
		return "directory"
	case NodeRegular:
		return "regular file"
	case NodeSymlink:
		return "symlink"
	}
	return "unknown type"
}

// Node is one entry inside a store path.
type Node struct {
	Path       string // relative to the store path; "." is the store path itself
	Type       NodeType
	Executable bool              // regular files
	Size       uint64            // regular files: length of the contents
	SHA256     [sha256.Size]byte // regular files: sha256 of the contents
	Verity     [sha256.Size]byte // regular files: fs-verity file digest
	Target     string            // symlinks
}

// PathNodes is one store path of a version 2 manifest with its entries, in
// NAR order.
type PathNodes struct {
	Entry
	Nodes []Node
}

// Header is what a manifest says before its store paths.
type Header struct {
	Version   int
	StoreDir  string
	Paths     uint64
	NarBytes  uint64
	Entries   uint64 // version 2
	FileBytes uint64 // version 2
}

// Limits of version 2 lines, which the writer applies too.
const (
	maxNodePath   = 64 << 10 // bytes of a relative path, unescaped
	maxNameBytes  = 255      // NAME_MAX, one component
	maxLinkTarget = 4095     // PATH_MAX - 1, what a Linux symlink holds
	maxV2Line     = 3*(maxNodePath+maxLinkTarget) + 256
)

// NodeFullPath is the entry's path in the store.
func NodeFullPath(storePath, rel string) string {
	if rel == "." {
		return storePath
	}
	return storePath + "/" + rel
}

// needsEscape says whether b is written as %XX.
func needsEscape(b byte) bool { return b <= ' ' || b > '~' || b == '%' }

// escapeField writes s with the bytes needsEscape names as %XX.
func escapeField(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
}

// unescapeField reverses escapeField, accepting only its spelling.
func unescapeField(s string) (string, error) {
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if needsEscape(s[i]) {
				return "", fmt.Errorf("byte 0x%02x is not escaped", s[i])
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if needsEscape(c) {
				return "", fmt.Errorf("byte 0x%02x is not escaped", c)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape")
		}
		hi, ok1 := upperHex(s[i+1])
		lo, ok2 := upperHex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("invalid escape %q", s[i:i+3])
		}
		v := hi<<4 | lo
		if !needsEscape(v) {
			return "", fmt.Errorf("escape %q of a byte written as itself", s[i:i+3])
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}

func upperHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validName checks one component of an entry path.
func validName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid name %q", name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("name longer than %d bytes", maxNameBytes)
	case strings.IndexByte(name, 0) >= 0 || strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("invalid name %q", clip(name))
	}
	return nil
}

// narString is the size of a NAR string of n bytes: its length, its bytes,
// zero padding to a multiple of 8.
func narString(n uint64) uint64 { return 8 + (n+7)&^7 }

// NAR sizes of the fixed parts (Nix manual, "Nix Archive (NAR) format").
var (
	narMagic     = narString(uint64(len("nix-archive-1")))
	narOpenType  = narString(1) + narString(4)           // "(" "type"
	narClose     = narString(1)                          // ")"
	narDirectory = narOpenType + narString(9) + narClose // "directory" ... ")"
	narRegular   = narOpenType + narString(7) + narString(8) + 8 + narClose
	narExec      = narString(10) + narString(0) // "executable" ""
	narSymlink   = narOpenType + narString(7) + narString(6) + narClose
	narEntry     = narString(5) + narString(1) + narString(4) + narString(4) + narClose // "entry" "(" "name" <name> "node" ... ")"
)

// narSizeOf is what a node adds to its store path's NAR size, with the
// directory entry that names it unless it is the root. Overflow is not
// possible for sizes that fit the reader's bounds but is checked by the
// caller's sum.
func narSizeOf(n *Node, name string) uint64 {
	var s uint64
	if n.Path != "." {
		s = narEntry + narString(uint64(len(name)))
	}
	switch n.Type {
	case NodeDirectory:
		s += narDirectory
	case NodeRegular:
		s += narRegular + (n.Size+7)&^7
		if n.Executable {
			s += narExec
		}
	case NodeSymlink:
		s += narSymlink + narString(uint64(len(n.Target)))
	}
	return s
}

// nodeOrder checks that a store path's entries come in NAR order and that
// their paths and names are valid, one entry at a time, keeping only the
// chain of open directories.
type nodeOrder struct {
	dirs []string // open directories, root first
	last []string // the last name seen in each
	n    int
	size uint64 // NAR bytes so far
}

func (o *nodeOrder) add(n *Node) error {
	o.n++
	if o.n == 1 {
		if n.Path != "." {
			return fmt.Errorf("the first entry must be the store path itself (\".\"), not %q", clip(n.Path))
		}
		o.size = narMagic
	} else if len(o.dirs) == 0 {
		return fmt.Errorf("%q: the store path is not a directory, or this entry is out of order", clip(n.Path))
	}
	name := n.Path
	if o.n > 1 {
		parent := "."
		if i := strings.LastIndexByte(n.Path, '/'); i >= 0 {
			parent, name = n.Path[:i], n.Path[i+1:]
		}
		if err := validName(name); err != nil {
			return fmt.Errorf("%q: %w", clip(n.Path), err)
		}
		for len(o.dirs) > 0 && o.dirs[len(o.dirs)-1] != parent {
			o.dirs, o.last = o.dirs[:len(o.dirs)-1], o.last[:len(o.last)-1]
		}
		if len(o.dirs) == 0 {
			return fmt.Errorf("%q is out of order or not inside a directory listed before it", clip(n.Path))
		}
		top := len(o.last) - 1
		if o.last[top] != "" && name <= o.last[top] {
			return fmt.Errorf("%q is out of order or listed twice", clip(n.Path))
		}
		o.last[top] = name
	}
	if len(n.Path) > maxNodePath {
		return fmt.Errorf("path longer than %d bytes", maxNodePath)
	}
	switch n.Type {
	case NodeDirectory:
		o.dirs, o.last = append(o.dirs, n.Path), append(o.last, "")
	case NodeSymlink:
		if n.Target == "" || len(n.Target) > maxLinkTarget || strings.IndexByte(n.Target, 0) >= 0 {
			return fmt.Errorf("%q: invalid symlink target", clip(n.Path))
		}
	case NodeRegular:
	default:
		return fmt.Errorf("%q: unknown entry type", clip(n.Path))
	}
	if o.n == 1 && n.Type != NodeDirectory {
		o.dirs = nil
	}
	s := o.size + narSizeOf(n, name)
	if s < o.size {
		return fmt.Errorf("NAR size overflows")
	}
	o.size = s
	return nil
}
