package uki

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrChanged is returned when an input file's size changed between
// planning the layout and copying it.
var ErrChanged = errors.New("input file changed while building")

// Section is one section of a UKI: its name and exact contents, held in
// memory or read from files (concatenated in order) when needed.
type Section struct {
	Name  string
	data  []byte
	files []string
	sizes []int64
	// parts, when not nil, are concatenated to make the section (an
	// initrd made of the user's files and an archive computed in memory).
	parts []Section
}

// NewSection is a section with in-memory contents.
func NewSection(name string, data []byte) Section {
	return Section{Name: name, data: data}
}

// FileSection is a section whose contents are the given files concatenated
// (an initrd made of several archives). Sizes are taken now; a file that
// changes size before it is copied makes the copy fail.
func FileSection(name string, paths ...string) (Section, error) {
	s := Section{Name: name}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return Section{}, fmt.Errorf("%s: %w", name, err)
		}
		if !fi.Mode().IsRegular() {
			return Section{}, fmt.Errorf("%s: %s is not a regular file", name, p)
		}
		s.files = append(s.files, p)
		s.sizes = append(s.sizes, fi.Size())
	}
	return s, nil
}

// Concat is a section whose contents are the given sections' contents one
// after the other; their names do not matter. Nothing is read until the
// section is opened.
func Concat(name string, parts ...Section) Section {
	return Section{Name: name, parts: append([]Section{}, parts...)}
}

// Size is the section's length in bytes (its VirtualSize in the image).
func (s Section) Size() int64 {
	if s.parts != nil {
		var n int64
		for _, p := range s.parts {
			n += p.Size()
		}
		return n
	}
	if s.files == nil {
		return int64(len(s.data))
	}
	var n int64
	for _, z := range s.sizes {
		n += z
	}
	return n
}

// Open returns the section's exact bytes as a stream.
func (s Section) Open() (io.ReadCloser, error) {
	if s.parts != nil {
		return &partChain{parts: s.parts}, nil
	}
	if s.files == nil {
		return io.NopCloser(bytes.NewReader(s.data)), nil
	}
	return &fileChain{s: s}, nil
}

// Bytes reads the whole section into memory.
func (s Section) Bytes() ([]byte, error) {
	if s.files == nil && s.parts == nil {
		return s.data, nil
	}
	r, err := s.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, 0, s.Size())
	buf := bytes.NewBuffer(b)
	if _, err := io.Copy(buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SHA256 is the digest of the section's contents.
func (s Section) SHA256() ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	r, err := s.Open()
	if err != nil {
		return d, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return d, err
	}
	copy(d[:], h.Sum(nil))
	return d, nil
}

// fileChain reads the files one after the other and insists that each
// gives exactly the size recorded when the layout was made.
type fileChain struct {
	s    Section
	i    int
	f    *os.File
	left int64
}

func (c *fileChain) Read(p []byte) (int, error) {
	for {
		if c.f == nil {
			if c.i == len(c.s.files) {
				return 0, io.EOF
			}
			f, err := os.Open(c.s.files[c.i])
			if err != nil {
				return 0, fmt.Errorf("%s: %w", c.s.Name, err)
			}
			c.f, c.left = f, c.s.sizes[c.i]
		}
		if c.left == 0 {
			var one [1]byte
			n, _ := c.f.Read(one[:])
			c.f.Close()
			c.f = nil
			if n > 0 {
				return 0, fmt.Errorf("%w: %s grew", ErrChanged, c.s.files[c.i])
			}
			c.i++
			continue
		}
		if int64(len(p)) > c.left {
			p = p[:c.left]
		}
		n, err := c.f.Read(p)
		c.left -= int64(n)
		if n > 0 {
			return n, nil
		}
		if err == io.EOF {
			return 0, fmt.Errorf("%w: %s shrank", ErrChanged, c.s.files[c.i])
		}
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", c.s.files[c.i], err)
		}
	}
}

func (c *fileChain) Close() error {
	if c.f != nil {
		return c.f.Close()
	}
	return nil
}

// partChain reads the parts one after the other, each opened only when
// reached, so at most one file is open at a time.
type partChain struct {
	parts []Section
	cur   io.ReadCloser
}

func (c *partChain) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if len(c.parts) == 0 {
				return 0, io.EOF
			}
			r, err := c.parts[0].Open()
			if err != nil {
				return 0, err
			}
			c.cur, c.parts = r, c.parts[1:]
		}
		n, err := c.cur.Read(p)
		if err == io.EOF {
			c.cur.Close()
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *partChain) Close() error {
	if c.cur != nil {
		return c.cur.Close()
	}
	return nil
}

func checkName(name string) error { return pe.ValidSectionName(name) }
