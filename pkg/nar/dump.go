package nar

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
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

// ErrChangedWhileReading reports a regular file that became shorter while it
// was read, so its NAR would disagree with its own length field.
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
//
// The tree is walked through directory descriptors (openat, fstatat), so the
// kernel resolves one name per entry instead of the whole path, which matters
// for closures of many small files.
func (d *Dumper) Dump(w io.Writer, path string) error {
	var st unix.Stat_t
	if err := lstatAt(unix.AT_FDCWD, path, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	t := &tokenWriter{w: w}
	t.str(magic)
	if err := d.node(t, unix.AT_FDCWD, path, path, &st, *bp); err != nil {
		return err
	}
	return t.err
}

// node serialises the entry called name in directory dirfd; path is its
// full path, for the visitor and for messages.
func (d *Dumper) node(t *tokenWriter, dirfd int, name, path string, st *unix.Stat_t, buf []byte) error {
	info := newFileInfo(name, st)
	if d.Visit != nil {
		if err := d.Visit(path, info); err != nil {
			return err
		}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		t.strs(tokOpen, tokType, tokRegular)
		if st.Mode&executableFlag != 0 {
			t.strs(tokExecutable, "")
		}
		t.str(tokContents)
		if err := d.contents(t, dirfd, name, path, st.Size, buf); err != nil {
			return err
		}
		t.str(tokClose)
	case unix.S_IFLNK:
		target, err := readlinkAt(dirfd, name, st.Size)
		if err != nil {
			return &fs.PathError{Op: "readlink", Path: path, Err: err}
		}
		t.strs(tokOpen, tokType, tokSymlink, tokTarget, target, tokClose)
	case unix.S_IFDIR:
		return d.directory(t, dirfd, name, path, buf)
	default:
		return &UnsupportedTypeError{Path: path, Mode: info.Mode()}
	}
	return t.err
}

func (d *Dumper) directory(t *tokenWriter, dirfd int, name, path string, buf []byte) error {
	fd, err := openAt(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	dir := os.NewFile(uintptr(fd), path)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	// NAR orders entries byte-wise, which is Go's string order.
	sort.Strings(names)
	t.strs(tokOpen, tokType, tokDirectory)
	var st unix.Stat_t
	for _, child := range names {
		childPath := path + "/" + child
		if err := lstatAt(fd, child, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: childPath, Err: err}
		}
		t.strs(tokEntry, tokOpen, tokName, child, tokNode)
		if err := d.node(t, fd, child, childPath, &st, buf); err != nil {
			return err
		}
		t.str(tokClose)
	}
	t.str(tokClose)
	return t.err
}

// contents writes the length, the bytes and the padding of a regular file.
// The length comes from lstat; a file that shrinks while being read is an
// error. Growth is not looked for: the bytes hashed are those the length
// field announces, and a store file that changes fails its hash anyway.
func (d *Dumper) contents(t *tokenWriter, dirfd int, name, path string, size int64, buf []byte) error {
	t.u64(uint64(size))
	if t.err != nil {
		return t.err
	}
	if size == 0 {
		return nil
	}
	fd, err := openAt(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	left := size
	for left > 0 {
		chunk := buf
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		n, err := unix.Read(fd, chunk)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", path, ErrChangedWhileReading)
		}
		if _, err := t.w.Write(chunk[:n]); err != nil {
			t.err = err
			return err
		}
		left -= int64(n)
	}
	t.pad(uint64(size))
	return t.err
}
