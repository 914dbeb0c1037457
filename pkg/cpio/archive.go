package cpio

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// ImplicitDirPerm is the permission of parent directories that Archive
// creates because an entry needs them but none was added explicitly.
const ImplicitDirPerm = 0o755

// Opener returns the contents of a regular file at write time, so that an
// Archive holds no file data in memory. The reader must yield exactly the
// size announced when the file was added.
type Opener func() (io.ReadCloser, error)

// Archive collects entries in any order and writes them in the canonical
// one: sorted by name, parents first, missing parent directories added with
// ImplicitDirPerm.
type Archive struct {
	entries map[string]*entry
}

type entry struct {
	hdr      Header
	open     Opener // TypeReg
	target   string // TypeSymlink
	implicit bool   // a parent directory nobody added explicitly
}

// AddDir adds a directory.
func (a *Archive) AddDir(name string, perm uint32) error {
	return a.add(&entry{hdr: Header{Name: name, Type: TypeDir, Perm: perm}})
}

// AddReader adds a regular file of the given size whose contents open
// returns when the archive is written.
func (a *Archive) AddReader(name string, perm uint32, size int64, open Opener) error {
	if open == nil {
		return fmt.Errorf("%w %s: no contents", ErrHeader, name)
	}
	return a.add(&entry{hdr: Header{Name: name, Type: TypeReg, Perm: perm, Size: size}, open: open})
}

// AddBytes adds a regular file with contents already in memory.
func (a *Archive) AddBytes(name string, perm uint32, data []byte) error {
	return a.AddReader(name, perm, int64(len(data)), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// AddFile adds the regular file at hostPath under name. Only its size is
// read now (and only its contents later): its owner, mode and times on the
// host do not reach the archive.
func (a *Archive) AddFile(name string, perm uint32, hostPath string) error {
	fi, err := os.Stat(hostPath)
	if err != nil {
		return fmt.Errorf("adding %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("adding %s: %s is not a regular file", name, hostPath)
	}
	return a.AddReader(name, perm, fi.Size(), func() (io.ReadCloser, error) {
		return os.Open(hostPath)
	})
}

// AddSymlink adds a symbolic link to target.
func (a *Archive) AddSymlink(name, target string) error {
	if target == "" || strings.IndexByte(target, 0) >= 0 {
		return fmt.Errorf("%w %s: symlink target %q", ErrHeader, name, target)
	}
	return a.add(&entry{
		hdr:    Header{Name: name, Type: TypeSymlink, Perm: 0o777, Size: int64(len(target))},
		target: target,
	})
}

// AddNode adds a device node, FIFO or socket; major and minor are the
// device numbers of a TypeChar or TypeBlock node and must be 0 otherwise.
func (a *Archive) AddNode(name string, typ Type, perm, major, minor uint32) error {
	switch typ {
	case TypeChar, TypeBlock, TypeFIFO, TypeSocket:
	default:
		return fmt.Errorf("%w %s: %s is not a node type", ErrHeader, name, typ)
	}
	return a.add(&entry{hdr: Header{Name: name, Type: typ, Perm: perm, RdevMajor: major, RdevMinor: minor}})
}

func (a *Archive) add(e *entry) error {
	if err := checkName(e.hdr.Name); err != nil {
		return err
	}
	if a.entries == nil {
		a.entries = map[string]*entry{}
	}
	if old, ok := a.entries[e.hdr.Name]; ok {
		if !(old.implicit && e.hdr.Type == TypeDir) {
			return fmt.Errorf("%w: %s", ErrDuplicate, e.hdr.Name)
		}
	}
	// Every ancestor must be (or become) a directory.
	for p := parent(e.hdr.Name); p != ""; p = parent(p) {
		old, ok := a.entries[p]
		if !ok {
			a.entries[p] = &entry{hdr: Header{Name: p, Type: TypeDir, Perm: ImplicitDirPerm}, implicit: true}
			continue
		}
		if old.hdr.Type != TypeDir {
			return fmt.Errorf("%w: %s needs %s to be a directory, not a %s", ErrHeader, e.hdr.Name, p, old.hdr.Type)
		}
	}
	a.entries[e.hdr.Name] = e
	return nil
}

// Len returns the number of entries, implicit directories included.
func (a *Archive) Len() int { return len(a.entries) }

// WriteTo writes the whole archive, trailer included, to w.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := NewWriter(cw)
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := writeEntry(tw, a.entries[n]); err != nil {
			return cw.n, err
		}
	}
	err := tw.Close()
	return cw.n, err
}

func writeEntry(tw *Writer, e *entry) error {
	if err := tw.WriteHeader(&e.hdr); err != nil {
		return err
	}
	switch e.hdr.Type {
	case TypeSymlink:
		_, err := io.WriteString(tw, e.target)
		return err
	case TypeReg:
		r, err := e.open()
		if err != nil {
			return fmt.Errorf("opening contents of %s: %w", e.hdr.Name, err)
		}
		defer r.Close()
		n, err := io.Copy(tw, r)
		if err != nil {
			return fmt.Errorf("copying contents of %s: %w", e.hdr.Name, err)
		}
		if n != e.hdr.Size {
			return fmt.Errorf("%w: %s: got %d bytes, announced %d", ErrSize, e.hdr.Name, n, e.hdr.Size)
		}
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
