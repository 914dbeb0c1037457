package authenticode

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrBadLayout is returned (wrapped) for an image whose sections and
// certificate table cannot be hashed consistently.
var ErrBadLayout = errors.New("image cannot be hashed")

// Hash computes the Authenticode digest of the image f with h (which is
// reset first), the way UEFI firmware does: the headers without the
// CheckSum and the certificate table entry, the sections in file order,
// then any data after them up to the certificate table.
func Hash(f *pe.File, h hash.Hash) ([]byte, error) {
	certs, err := f.CertificateTable()
	if err != nil {
		return nil, err
	}
	end := f.Size
	if certs.Size != 0 {
		if int64(certs.VirtualAddress)+int64(certs.Size) != f.Size {
			return nil, fmt.Errorf("%w: the certificate table does not end the file", ErrBadLayout)
		}
		end = int64(certs.VirtualAddress)
	}
	return hashRange(f, h, end)
}

// hashRange hashes f as if the file ended at end, which may lie past the
// real end (zero padding that signing is about to add).
func hashRange(f *pe.File, h hash.Hash, end int64) ([]byte, error) {
	h.Reset()
	hdr := f.Header
	ck := f.ChecksumOffset()
	h.Write(hdr[:ck])
	if dir, ok := f.DataDirectoryOffset(pe.IMAGE_DIRECTORY_ENTRY_SECURITY); ok {
		h.Write(hdr[ck+4 : dir])
		h.Write(hdr[dir+8:])
	} else {
		h.Write(hdr[ck+4:])
	}
	hashed := int64(len(hdr))

	secs := make([]pe.SectionHeader, 0, len(f.Sections))
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 {
			secs = append(secs, s)
		}
	}
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].PointerToRawData < secs[j].PointerToRawData })
	r := &zeroPadded{r: f.ReaderAt(), size: f.Size}
	buf := make([]byte, 1<<20)
	for _, s := range secs {
		if int64(s.PointerToRawData)+int64(s.SizeOfRawData) > end {
			return nil, fmt.Errorf("%w: section %s overlaps the certificate table", ErrBadLayout, s.NameString())
		}
		if err := copyRange(h, r, int64(s.PointerToRawData), int64(s.SizeOfRawData), buf); err != nil {
			return nil, err
		}
		hashed += int64(s.SizeOfRawData)
	}
	// Trailing data: what EDK2 hashes is the bytes from offset
	// SUM_OF_BYTES_HASHED up to the certificate table.
	switch {
	case end > hashed:
		if err := copyRange(h, r, hashed, end-hashed, buf); err != nil {
			return nil, err
		}
	case end < hashed:
		return nil, fmt.Errorf("%w: headers and sections (%d bytes) exceed the data before the certificate table (%d)", ErrBadLayout, hashed, end)
	}
	return h.Sum(nil), nil
}

func copyRange(w io.Writer, r io.ReaderAt, off, n int64, buf []byte) error {
	if _, err := io.CopyBuffer(w, io.NewSectionReader(r, off, n), buf); err != nil {
		return fmt.Errorf("reading image at %#x: %w", off, err)
	}
	return nil
}

// zeroPadded reads zeros past the end of r, up to any length.
type zeroPadded struct {
	r    io.ReaderAt
	size int64
}

func (z *zeroPadded) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < z.size {
		k := min(int64(len(p)), z.size-off)
		m, err := z.r.ReadAt(p[:k], off)
		n = m
		if m < int(k) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	clear(p[n:])
	return len(p), nil
}

// StreamHasher hashes an image while it is written out front to back, for
// a layout without gaps (every byte after the headers belongs to a section
// or to trailing data), which is what pe.Layout produces. It skips the
// CheckSum field and the certificate table entry, so its digest equals
// Hash of the finished file.
type StreamHasher struct {
	h    hash.Hash
	pos  int64
	skip [2][2]int64 // [start, end) ranges, sorted
}

// NewStreamHasher returns a hasher skipping the 4-byte CheckSum at
// checksumOffset and the 8-byte certificate table entry at certDirOffset
// (-1 when the image has none).
func NewStreamHasher(h hash.Hash, checksumOffset, certDirOffset int64) *StreamHasher {
	h.Reset()
	s := &StreamHasher{h: h}
	s.skip[0] = [2]int64{checksumOffset, checksumOffset + 4}
	s.skip[1] = [2]int64{certDirOffset, certDirOffset + 8}
	if certDirOffset < 0 {
		s.skip[1] = [2]int64{-1, -1}
	}
	if s.skip[1][0] >= 0 && s.skip[1][0] < s.skip[0][0] {
		s.skip[0], s.skip[1] = s.skip[1], s.skip[0]
	}
	return s
}

func (s *StreamHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		start, end := s.pos, s.pos+int64(len(p))
		cut := int64(len(p))
		skipping := false
		for _, r := range s.skip {
			if r[0] < 0 || r[1] <= start || r[0] >= end {
				continue
			}
			if r[0] <= start {
				cut, skipping = min(r[1], end)-start, true
			} else {
				cut = min(cut, r[0]-start)
			}
			break
		}
		if !skipping {
			s.h.Write(p[:cut])
		}
		p = p[cut:]
		s.pos += cut
	}
	return n, nil
}

// Sum returns the digest of what was written.
func (s *StreamHasher) Sum() []byte { return s.h.Sum(nil) }
