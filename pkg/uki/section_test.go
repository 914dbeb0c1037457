package uki

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestConcat(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	os.WriteFile(a, []byte("first "), 0o644)
	os.WriteFile(b, bytes.Repeat([]byte("x"), 3<<20), 0o644)
	files, err := FileSection(SectionInitrd, a, b)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := FileSection(SectionInitrd)
	big := append([]byte("first "), bytes.Repeat([]byte("x"), 3<<20)...)
	tests := []struct {
		name  string
		parts []Section
		want  []byte
	}{
		{"nothing", nil, nil},
		{"files then bytes", []Section{files, NewSection("x", []byte("tail"))}, append(append([]byte{}, big...), "tail"...)},
		{"no files, bytes", []Section{none, NewSection("x", []byte("only"))}, []byte("only")},
		{"empty parts skipped", []Section{NewSection("x", nil), NewSection("x", []byte("a")), NewSection("x", nil), NewSection("x", []byte("b"))}, []byte("ab")},
		{"nested", []Section{Concat("y", NewSection("x", []byte("1")), NewSection("x", []byte("2"))), NewSection("x", []byte("3"))}, []byte("123")},
	}
	for _, tc := range tests {
		s := Concat(SectionInitrd, tc.parts...)
		if s.Size() != int64(len(tc.want)) {
			t.Errorf("%s: Size %d, want %d", tc.name, s.Size(), len(tc.want))
		}
		got, err := s.Bytes()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: contents differ (%d bytes, want %d)", tc.name, len(got), len(tc.want))
		}
		d, err := s.SHA256()
		if err != nil || d != sha256.Sum256(tc.want) {
			t.Errorf("%s: SHA256 %x, %v", tc.name, d, err)
		}
	}

	// A file that grows after planning still fails the read.
	s := Concat(SectionInitrd, files, NewSection("x", []byte("tail")))
	os.WriteFile(a, []byte("first and more"), 0o644)
	if _, err := s.Bytes(); !errors.Is(err, ErrChanged) {
		t.Errorf("changed file: got %v, want ErrChanged", err)
	}
}
