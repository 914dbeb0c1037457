package nar

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// UnsupportedTypeError reports an entry NAR cannot represent.
type UnsupportedTypeError struct {
	Path string
	Mode fs.FileMode
}

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("%s: %s cannot be stored in a NAR", e.Path, TypeName(e.Mode))
}

// TypeName names an entry's type for messages.
func TypeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "unknown entry type"
}

// ErrChangedWhileReading reports a regular file whose length changed while it
// was read.
var ErrChangedWhileReading = errors.New("file changed size while being read")

// Visitor is called for every entry before it is serialised, with the
// entry's path and its Lstat result. The root entry comes first, then entries
// in NAR order. A non-nil error stops the dump and is returned.
type Visitor func(path string, info fs.FileInfo) error

// Dumper serialises trees. Its zero value is ready to use.
type Dumper struct {
	// Visit, when set, sees every entry (see Visitor).
	Visit Visitor
}

const copyBufferSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Dump writes the NAR serialisation of the tree at path to w.
func Dump(w io.Writer, path string) error {
	return (&Dumper{}).Dump(w, path)
}

// Dump writes the NAR serialisation of the tree at path to w.
func (d *Dumper) Dump(w io.Writer, path string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	t := &tokenWriter{w: w}
	t.str(magic)
	if err := d.node(t, path, info, *bp); err != nil {
		return err
	}
	return t.err
}

func (d *Dumper) node(t *tokenWriter, path string, info fs.FileInfo, buf []byte) error {
	if d.Visit != nil {
		if err := d.Visit(path, info); err != nil {
			return err
		}
	}
	mode := info.Mode()
	switch {
	case mode.IsRegular():
		t.strs(tokOpen, tokType, tokRegular)
		if mode&executableFlag != 0 {
			t.strs(tokExecutable, "")
		}
		t.str(tokContents)
		if err := d.contents(t, path, info.Size(), buf); err != nil {
			return err
		}
		t.str(tokClose)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		t.strs(tokOpen, tokType, tokSymlink, tokTarget, target, tokClose)
	case mode.IsDir():
		names, err := readDirNames(path)
		if err != nil {
			return err
		}
		t.strs(tokOpen, tokType, tokDirectory)
		for _, name := range names {
			child := filepath.Join(path, name)
			ci, err := os.Lstat(child)
			if err != nil {
				return err
			}
			t.strs(tokEntry, tokOpen, tokName, name, tokNode)
			if err := d.node(t, child, ci, buf); err != nil {
				return err
			}
			t.str(tokClose)
		}
		t.str(tokClose)
	default:
		return &UnsupportedTypeError{Path: path, Mode: mode}
	}
	return t.err
}

// contents writes the length, the bytes and the padding of a regular file.
// The length comes from Lstat; a file that grows or shrinks while being read
// is an error rather than a NAR that disagrees with its own length field.
func (d *Dumper) contents(t *tokenWriter, path string, size int64, buf []byte) error {
	t.u64(uint64(size))
	if t.err != nil {
		return t.err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(t.w, io.LimitReader(onlyReader{f}, size), buf)
	if err != nil {
		t.err = err
		return err
	}
	if n != size {
		return fmt.Errorf("%s: %w", path, ErrChangedWhileReading)
	}
	if extra, _ := f.Read(buf[:1]); extra != 0 {
		return fmt.Errorf("%s: %w", path, ErrChangedWhileReading)
	}
	t.pad(uint64(size))
	return t.err
}

// onlyReader hides *os.File's WriterTo/ReaderFrom so io.CopyBuffer uses our
// pooled buffer instead of allocating one per file.
type onlyReader struct{ io.Reader }

// readDirNames returns a directory's entry names sorted byte-wise, the order
// NAR requires (Go's string comparison is byte-wise).
func readDirNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}
