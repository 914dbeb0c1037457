package cpio

import (
	"fmt"
	"io"
	"math"
	"strconv"
)

// Header describes one archive entry. Owner, link count, mtime and inode
// are not part of it: the writer fixes them for reproducibility.
type Header struct {
	Name string // clean relative path, e.g. "bin/busybox"
	Type Type
	Perm uint32 // permission bits, including setuid/setgid/sticky (0o7777)
	// Size is the number of data bytes that follow: the file's length for
	// TypeReg, the target's length for TypeSymlink, 0 for everything else.
	Size int64
	// RdevMajor and RdevMinor are the device numbers of a TypeChar or
	// TypeBlock node (e.g. 5, 1 for /dev/console).
	RdevMajor, RdevMinor uint32
}

// Writer writes a newc archive entry by entry, like archive/tar's Writer:
// WriteHeader, then exactly Size bytes through Write, then the next entry;
// Close writes the trailer. Entries must come sorted byte-wise by name with
// each parent directory already written; Archive does that ordering for
// callers that cannot. The first error is sticky.
type Writer struct {
	w         io.Writer
	err       error
	ino       uint32
	last      string
	dirs      map[string]bool
	remaining int64 // data bytes still owed for the current entry
	pad       int   // padding owed after the current entry's data
	closed    bool
}

// NewWriter returns a Writer appending an archive to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, dirs: map[string]bool{}}
}

// WriteHeader finishes the previous entry and starts a new one.
func (w *Writer) WriteHeader(h *Header) error {
	if err := w.finishEntry(); err != nil {
		return err
	}
	if err := w.check(h); err != nil {
		w.err = err
		return err
	}
	w.ino++
	var f [numFields]uint32
	f[fieldIno] = w.ino
	f[fieldMode] = uint32(h.Type) | h.Perm
	f[fieldNlink] = 1
	f[fieldFilesize] = uint32(h.Size)
	f[fieldRdevmajor] = h.RdevMajor
	f[fieldRdevminor] = h.RdevMinor
	if err := w.writeRecord(f, h.Name); err != nil {
		return err
	}
	w.last = h.Name
	if h.Type == TypeDir {
		w.dirs[h.Name] = true
	}
	w.remaining = h.Size
	w.pad = padding(h.Size)
	return nil
}

func (w *Writer) check(h *Header) error {
	if err := checkName(h.Name); err != nil {
		return err
	}
	if !h.Type.valid() {
		return fmt.Errorf("%w %s: file type %#o", ErrHeader, h.Name, uint32(h.Type))
	}
	if h.Perm&^permMask != 0 {
		return fmt.Errorf("%w %s: permission bits %#o", ErrHeader, h.Name, h.Perm)
	}
	if h.Size < 0 || (h.Size > 0 && h.Type != TypeReg && h.Type != TypeSymlink) {
		return fmt.Errorf("%w %s: size %d for a %s", ErrHeader, h.Name, h.Size, h.Type)
	}
	if h.Type == TypeSymlink && h.Size == 0 {
		return fmt.Errorf("%w %s: symlink with an empty target", ErrHeader, h.Name)
	}
	if h.Size > math.MaxUint32 {
		return fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, h.Name, h.Size)
	}
	if (h.RdevMajor != 0 || h.RdevMinor != 0) && h.Type != TypeChar && h.Type != TypeBlock {
		return fmt.Errorf("%w %s: device numbers on a %s", ErrHeader, h.Name, h.Type)
	}
	if w.last != "" && h.Name <= w.last {
		if h.Name == w.last {
			return fmt.Errorf("%w: %s", ErrDuplicate, h.Name)
		}
		return fmt.Errorf("%w: %s after %s", ErrOrder, h.Name, w.last)
	}
	if p := parent(h.Name); p != "" && !w.dirs[p] {
		return fmt.Errorf("%w: %s needs %s", ErrNoParent, h.Name, p)
	}
	if w.ino == math.MaxUint32 {
		return fmt.Errorf("%w: more than %d entries", ErrTooLarge, uint32(math.MaxUint32))
	}
	return nil
}

// Write writes data of the current entry; writing more than its Size is an
// error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, ErrClosed
	}
	over := int64(len(p)) > w.remaining
	if over {
		p = p[:w.remaining]
	}
	n, err := w.w.Write(p)
	w.remaining -= int64(n)
	if err != nil {
		w.err = err
		return n, err
	}
	if over {
		w.err = fmt.Errorf("%w: %s: more data than its size", ErrSize, w.last)
		return n, w.err
	}
	return n, nil
}

// Close finishes the last entry and writes the trailer. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.finishEntry(); err != nil {
		return err
	}
	w.closed = true
	// The trailer is an all-zero header except for nlink 1, like GNU cpio's
	// and systemd-stub's; no block padding follows, so archives can be
	// concatenated as the kernel allows.
	var f [numFields]uint32
	f[fieldNlink] = 1
	return w.writeRecord(f, trailerName)
}

func (w *Writer) finishEntry() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if w.remaining > 0 {
		w.err = fmt.Errorf("%w: %s: %d bytes missing", ErrSize, w.last, w.remaining)
		return w.err
	}
	if w.pad > 0 {
		var zero [align]byte
		if _, err := w.w.Write(zero[:w.pad]); err != nil {
			w.err = err
			return err
		}
		w.pad = 0
	}
	return nil
}

// writeRecord writes a header and its padded name in one Write.
func (w *Writer) writeRecord(f [numFields]uint32, name string) error {
	f[fieldNamesize] = uint32(len(name) + 1)
	buf := make([]byte, 0, headerSize+len(name)+1+align)
	buf = append(buf, magic...)
	for _, v := range f {
		buf = appendHex8(buf, v)
	}
	buf = append(buf, name...)
	buf = append(buf, 0)
	for len(buf)%align != 0 {
		buf = append(buf, 0)
	}
	if _, err := w.w.Write(buf); err != nil {
		w.err = fmt.Errorf("writing cpio header for %s: %w", name, err)
		return w.err
	}
	return nil
}

func appendHex8(b []byte, v uint32) []byte {
	s := strconv.FormatUint(uint64(v), 16)
	for i := len(s); i < 8; i++ {
		b = append(b, '0')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'f' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func padding(n int64) int {
	return int((align - n%align) % align)
}
