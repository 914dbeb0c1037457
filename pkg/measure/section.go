package measure

import (
	"bytes"
	"fmt"
	"hash"
	"io"
)

// Section is one UKI section as the stub sees it in memory.
type Section struct {
	// Name is the PE section name (".linux").
	Name string
	// Data yields the section's bytes; it is read once, front to back, and
	// at most Size bytes are taken from it.
	Data io.Reader
	// Size is the number of bytes the stub measures: the section's
	// VirtualSize. Bytes past the end of Data count as zeros, as the
	// loader zero-fills VirtualSize beyond SizeOfRawData. A negative Size
	// means "all of Data", for callers that stream a file of unknown
	// length. A section of size 0 is absent for the stub.
	Size int64
}

// BytesSection returns a Section holding data.
func BytesSection(name string, data []byte) Section {
	return Section{Name: name, Data: bytes.NewReader(data), Size: int64(len(data))}
}

// zeroReader yields zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// hashSection feeds the section's measured bytes to every hash and returns
// how many bytes that was. Memory use does not depend on the size.
func hashSection(s Section, hs []hash.Hash) (int64, error) {
	ws := make([]io.Writer, len(hs))
	for i, h := range hs {
		ws[i] = h
	}
	w := io.MultiWriter(ws...)
	if s.Data == nil {
		if s.Size > 0 {
			return 0, fmt.Errorf("section %s: no data for %d bytes", s.Name, s.Size)
		}
		return 0, nil
	}
	if s.Size < 0 {
		n, err := io.Copy(w, s.Data)
		if err != nil {
			return n, fmt.Errorf("reading section %s: %w", s.Name, err)
		}
		return n, nil
	}
	n, err := io.Copy(w, io.LimitReader(s.Data, s.Size))
	if err != nil {
		return n, fmt.Errorf("reading section %s: %w", s.Name, err)
	}
	if n < s.Size {
		if _, err := io.CopyN(w, zeroReader{}, s.Size-n); err != nil {
			return n, fmt.Errorf("padding section %s: %w", s.Name, err)
		}
	}
	return s.Size, nil
}
