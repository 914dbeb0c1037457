package esp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File is a file being written.
type File interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
}

// ReadFile is a file being read.
type ReadFile interface {
	io.Reader
	io.ReaderAt
	Close() error
}

// FS is what the installer does to a partition. Names are slash-separated
// paths relative to the partition's root.
type FS interface {
	// Create creates or truncates name for writing.
	Create(name string) (File, error)
	// Open opens name for reading.
	Open(name string) (ReadFile, error)
	// Rename renames oldname to newname, replacing it.
	Rename(oldname, newname string) error
	// SyncDir makes the directory's entries durable.
	SyncDir(dir string) error
	// Remove removes a file.
	Remove(name string) error
	// Stat describes name (following no symlink).
	Stat(name string) (fs.FileInfo, error)
	// ReadDir lists the names in dir; a missing dir is fs.ErrNotExist.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string) error
	// Space returns the bytes available to this process and the size of
	// an allocation unit.
	Space() (free, block int64, err error)
}

// Errors about a partition as a whole.
var (
	ErrReadOnly   = errors.New("mounted read-only")
	ErrNotVFAT    = errors.New("not a FAT file system (is the partition mounted?)")
	ErrNotDir     = errors.New("not a directory")
	errBadName    = errors.New("name escapes the partition root")
	msdosMagic    = int64(0x4d44) // MSDOS_SUPER_MAGIC, linux/magic.h
	openReadFlags = os.O_RDONLY | unix.O_NOFOLLOW
)

// OSFS is FS on a mounted directory.
type OSFS struct{ Root string }

// OpenOS checks that root is a writable directory and, with requireVFAT,
// a FAT file system (an ESP that is not mounted is a plain directory of the
// root file system).
func OpenOS(root string, requireVFAT bool) (*OSFS, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", root, ErrNotDir)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return nil, fmt.Errorf("%s: %w", root, ErrReadOnly)
	}
	if requireVFAT && int64(st.Type) != msdosMagic {
		return nil, fmt.Errorf("%s: %w", root, ErrNotVFAT)
	}
	return &OSFS{Root: root}, nil
}

func (o *OSFS) path(name string) (string, error) {
	if name != "." && (path.Clean(name) != name || strings.HasPrefix(name, "/") || name == ".." || strings.HasPrefix(name, "../")) {
		return "", fmt.Errorf("%q: %w", name, errBadName)
	}
	return filepath.Join(o.Root, filepath.FromSlash(name)), nil
}

// Create implements FS.
func (o *OSFS) Create(name string) (File, error) {
	p, err := o.path(name)
	if err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o644)
}

// Open implements FS.
func (o *OSFS) Open(name string) (ReadFile, error) {
	p, err := o.path(name)
	if err != nil {
		return nil, err
	}
	return os.OpenFile(p, openReadFlags, 0)
}

// Rename implements FS.
func (o *OSFS) Rename(oldname, newname string) error {
	a, err := o.path(oldname)
	if err != nil {
		return err
	}
	b, err := o.path(newname)
	if err != nil {
		return err
	}
	return os.Rename(a, b)
}

// SyncDir implements FS. Where a directory cannot be synced on its own,
// the whole file system is.
func (o *OSFS) SyncDir(dir string) error {
	p, err := o.path(dir)
	if err != nil {
		return err
	}
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
			return unix.Syncfs(int(d.Fd()))
		}
		return err
	}
	return nil
}

// Remove implements FS.
func (o *OSFS) Remove(name string) error {
	p, err := o.path(name)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

// Stat implements FS.
func (o *OSFS) Stat(name string) (fs.FileInfo, error) {
	p, err := o.path(name)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

// ReadDir implements FS.
func (o *OSFS) ReadDir(dir string) ([]string, error) {
	p, err := o.path(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

// MkdirAll implements FS.
func (o *OSFS) MkdirAll(dir string) error {
	p, err := o.path(dir)
	if err != nil {
		return err
	}
	return os.MkdirAll(p, 0o755)
}

// Space implements FS.
func (o *OSFS) Space() (free, block int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(o.Root, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * st.Bsize, st.Bsize, nil
}
