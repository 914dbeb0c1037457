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

// ErrChangedWhileReading reports an entry that changed between the moment it
// was listed and the end of its serialisation: replaced by another file or
// type, or a regular file whose size or times changed while it was read. Its
// NAR would describe no state the tree was ever in, so it is an error.
var ErrChangedWhileReading = errors.New("changed while being read")

// Entry is what a Visitor sees of one entry of the tree.
type Entry struct {
	Path string      // the entry's full path, for messages
	Info fs.FileInfo // from fstat of the opened entry (lstat for what is not opened)
	// DirFD and Name locate the entry: Name inside the directory open as
	// DirFD (AT_FDCWD for the root of Dump). FD is the entry opened
	// read-only without following symlinks, for regular files and
	// directories, and -1 for other types. Descriptors are valid only
	// during the call.
	DirFD int
	Name  string
	FD    int
	// Target is a symlink's target, as written to the NAR ("" for other
	// types).
	Target string
}

// Stat returns the raw stat result behind Info.
func (e *Entry) Stat() *unix.Stat_t { return &e.Info.(*fileInfo).st }

// Visitor is called for every entry before its contents are serialised. The
// root entry comes first, then entries in NAR order. A non-nil error stops
// the dump and is returned.
type Visitor func(e *Entry) error

// Dumper serialises trees. Its zero value is ready to use.
type Dumper struct {
	// Visit, when set, sees every entry (see Visitor).
	Visit Visitor
	// Contents, when set, is asked after Visit for each regular file and
	// may return a writer that gets the file's contents as they go into
	// the NAR (nil for none), so a caller can hash each file from the
	// very bytes the NAR hash covers, in the same read.
	Contents func(e *Entry) io.Writer
}

const copyBufferSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Dump writes the NAR serialisation of the tree at path to w.
func Dump(w io.Writer, path string) error {
	return (&Dumper{}).Dump(w, path)
}

// Dump writes the NAR serialisation of the tree at path to w. Symlinks are
// recorded, never followed, except in the components of path above the tree
// (use DumpAt to avoid those).
func (d *Dumper) Dump(w io.Writer, path string) error {
	return d.DumpAt(w, unix.AT_FDCWD, path, path)
}

// DumpAt writes the NAR serialisation of the tree called name in the
// directory open as dirfd to w; path names the tree in messages and for
// the visitor. With a name of one component, nothing is resolved through
// a symlink.
//
// The tree is walked through directory descriptors (openat, fstatat), so the
// kernel resolves one name per entry instead of the whole path, which matters
// for closures of many small files. Every regular file and directory is
// opened with O_NOFOLLOW|O_NONBLOCK and fstat'ed: it must be the entry lstat
// listed (same device, inode, type and ctime; for files the same size, before
// and after reading, and the same times), and files are read to their end, so an
// entry swapped or changed while the tree is read gives
// ErrChangedWhileReading, and a fifo swapped in cannot block the walk.
func (d *Dumper) DumpAt(w io.Writer, dirfd int, name, path string) error {
	var st unix.Stat_t
	if err := LstatAt(dirfd, name, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	t := &tokenWriter{w: w}
	t.str(magic)
	if err := d.node(t, dirfd, name, path, &st, *bp); err != nil {
		return err
	}
	return t.err
}

// node serialises the entry called name in directory dirfd, which lstat
// described as st; path is its full path, for the visitor and for messages.
func (d *Dumper) node(t *tokenWriter, dirfd int, name, path string, st *unix.Stat_t, buf []byte) error {
	e := Entry{Path: path, DirFD: dirfd, Name: name, FD: -1}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		fd, fst, err := openEntry(dirfd, name, path, st, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		e.FD, e.Info = fd, newFileInfo(name, fst)
		if err := d.visit(&e); err != nil {
			return err
		}
		var also io.Writer
		if d.Contents != nil {
			also = d.Contents(&e)
		}
		t.strs(tokOpen, tokType, tokRegular)
		if fst.Mode&executableFlag != 0 {
			t.strs(tokExecutable, "")
		}
		t.str(tokContents)
		if err := contents(t, fd, path, fst, buf, also); err != nil {
			return err
		}
		t.str(tokClose)
	case unix.S_IFLNK:
		e.Info = newFileInfo(name, st)
		target, err := ReadlinkAt(dirfd, name, st.Size)
		if err != nil {
			return &fs.PathError{Op: "readlink", Path: path, Err: err}
		}
		e.Target = target
		if err := d.visit(&e); err != nil {
			return err
		}
		t.strs(tokOpen, tokType, tokSymlink, tokTarget, target, tokClose)
	case unix.S_IFDIR:
		fd, fst, err := openEntry(dirfd, name, path, st, unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		// The directory owns fd from here and closes it.
		dir := os.NewFile(uintptr(fd), path)
		defer dir.Close()
		e.FD, e.Info = fd, newFileInfo(name, fst)
		if err := d.visit(&e); err != nil {
			return err
		}
		return d.directory(t, dir, fd, path, buf)
	default:
		e.Info = newFileInfo(name, st)
		if err := d.visit(&e); err != nil {
			return err
		}
		return &UnsupportedTypeError{Path: path, Mode: e.Info.Mode()}
	}
	return t.err
}

func (d *Dumper) visit(e *Entry) error {
	if d.Visit == nil {
		return nil
	}
	return d.Visit(e)
}

func (d *Dumper) directory(t *tokenWriter, dir *os.File, fd int, path string, buf []byte) error {
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
		if err := LstatAt(fd, child, &st); err != nil {
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

// openEntry opens the regular file or directory lstat described as st,
// without following a symlink and without blocking on a fifo put in its
// place, and returns the descriptor and its fstat, which must show the same
// entry.
func openEntry(dirfd int, name, path string, st *unix.Stat_t, flags int) (int, *unix.Stat_t, error) {
	fd, err := openAt(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|flags)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, nil, fmt.Errorf("%s: %w (no longer a %s)", path, ErrChangedWhileReading, typeName(st))
		}
		return -1, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	fst := new(unix.Stat_t)
	if err := fstat(fd, fst); err != nil {
		unix.Close(fd)
		return -1, nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if reason := differs(st, fst); reason != "" {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w (%s)", path, ErrChangedWhileReading, reason)
	}
	return fd, fst, nil
}

// differs says how the opened entry fst differs from the listed entry st,
// or "" when it is the same one.
func differs(st, fst *unix.Stat_t) string {
	switch {
	case fst.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT:
		return fmt.Sprintf("a %s was listed, a %s was opened", typeName(st), typeName(fst))
	case fst.Dev != st.Dev || fst.Ino != st.Ino:
		return "another file was opened than the one listed"
	case st.Mode&unix.S_IFMT == unix.S_IFREG && fst.Size != st.Size:
		return fmt.Sprintf("size %d when listed, %d when opened", st.Size, fst.Size)
	case fst.Ctim != st.Ctim:
		// Any write or metadata change moves ctime, also on an inode
		// number freed and reused in between.
		return "changed between listing and opening"
	}
	return ""
}

func typeName(st *unix.Stat_t) string { return TypeName(newFileInfo("", st).Mode()) }

// contents writes the length, the bytes and the padding of the regular file
// open as fd, which fstat described as st. It reads exactly the size fstat
// gave and then fstats the file again: a file that grew, shrank or was
// rewritten in place moved its size or times, so the second fstat sees it
// without a read to the end (one system call fewer a file).
//
// also, when not nil, gets the contents too.
func contents(t *tokenWriter, fd int, path string, st *unix.Stat_t, buf []byte, also io.Writer) error {
	size := uint64(st.Size)
	t.u64(size)
	var done uint64
	for t.err == nil && done < size {
		want := buf
		if left := size - done; left < uint64(len(want)) {
			want = want[:left]
		}
		n, err := unix.Read(fd, want)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		done += uint64(n)
		if _, err := t.w.Write(want[:n]); err != nil {
			t.err = err
		}
		if also != nil {
			if _, err := also.Write(want[:n]); err != nil {
				t.err = err
			}
		}
	}
	if t.err != nil {
		return t.err
	}
	if done != size {
		return fmt.Errorf("%s: %w (%d of its %d bytes read)", path, ErrChangedWhileReading, done, size)
	}
	var after unix.Stat_t
	if err := fstat(fd, &after); err != nil {
		return &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if after.Size != st.Size || after.Mtim != st.Mtim || after.Ctim != st.Ctim {
		return fmt.Errorf("%s: %w (size or times changed while it was read)", path, ErrChangedWhileReading)
	}
	t.pad(size)
	return t.err
}
