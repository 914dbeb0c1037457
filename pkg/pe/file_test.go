package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestNewFileBadInput(t *testing.T) {
	stub := readStub(t)
	f, err := NewFile(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		t.Fatal(err)
	}
	secOff := func(i int) int { return int(f.SectionTableOffset) + i*40 }
	mutate := func(fn func(b []byte) []byte) []byte {
		return fn(append([]byte(nil), stub...))
	}
	tests := []struct {
		name string
		img  []byte
		want error
	}{
		{"empty", nil, ErrNotPE},
		{"MZ only", []byte("MZ"), ErrTruncated},
		{"not MZ", mutate(func(b []byte) []byte { b[0] = 'X'; return b }), ErrNotPE},
		{"truncated headers", stub[:0x100], ErrTruncated},
		{"truncated sections", stub[:len(stub)/2], ErrTruncated},
		{"PE32", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[f.OptionalHeaderOffset:], MagicPE32)
			return b
		}), ErrNotPE32Plus},
		{"overlapping raw data", mutate(func(b []byte) []byte {
			// Point section 1's data into section 0's.
			binary.LittleEndian.PutUint32(b[secOff(1)+20:], binary.LittleEndian.Uint32(b[secOff(0)+20:]))
			return b
		}), ErrOverlap},
		{"overlapping in memory", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[secOff(1)+12:], binary.LittleEndian.Uint32(b[secOff(0)+12:])+16)
			return b
		}), ErrOverlap},
		{"huge section count", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[f.PEOffset+4+2:], 1000)
			return b
		}), ErrMalformed},
		{"lfanew past end", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[0x3c:], 0x7fffffff)
			return b
		}), ErrTruncated},
	}
	for _, tc := range tests {
		_, err := NewFile(bytes.NewReader(tc.img), int64(len(tc.img)))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Every prefix of a valid image must be refused cleanly, never panic.
func TestNewFileTruncations(t *testing.T) {
	stub := readStub(t)
	f, err := NewFile(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		t.Fatal(err)
	}
	var dataEnd int
	for _, s := range f.Sections {
		dataEnd = max(dataEnd, int(s.PointerToRawData+s.SizeOfRawData))
	}
	// Past the last section lies only the symbol table, which is optional.
	for n := 0; n < len(stub); n += 97 {
		if _, err := NewFile(bytes.NewReader(stub[:n]), int64(n)); err == nil && n < dataEnd {
			t.Fatalf("prefix of %d bytes accepted", n)
		}
	}
}
