package cpio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// hdr builds the expected text of one newc header by hand, independently of
// the writer's code: magic and the 13 fields in the order of
// init/initramfs.c (ino mode uid gid nlink mtime filesize devmajor devminor
// rdevmajor rdevminor namesize check).
func hdr(ino, mode, nlink, size, rmaj, rmin uint32, name string) string {
	f := []uint32{ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, uint32(len(name) + 1), 0}
	var b strings.Builder
	b.WriteString("070701")
	for _, v := range f {
		b.WriteString(strings.ToUpper(strings.Repeat("0", 8-len(hex(v))) + hex(v)))
	}
	b.WriteString(name)
	b.WriteByte(0)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.String()
}

func hex(v uint32) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var s []byte
	for ; v > 0; v >>= 4 {
		s = append([]byte{digits[v&15]}, s...)
	}
	return string(s)
}

func TestWriterLayout(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	steps := []struct {
		h    Header
		data string
	}{
		{Header{Name: "d", Type: TypeDir, Perm: 0o755}, ""},
		{Header{Name: "d/console", Type: TypeChar, Perm: 0o600, RdevMajor: 5, RdevMinor: 1}, ""},
		{Header{Name: "d/f", Type: TypeReg, Perm: 0o4755, Size: 3}, "abc"},
		{Header{Name: "d/l", Type: TypeSymlink, Perm: 0o777, Size: 1}, "f"},
	}
	for _, s := range steps {
		if err := w.WriteHeader(&s.h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, s.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := hdr(1, 0o40755, 1, 0, 0, 0, "d") +
		hdr(2, 0o20600, 1, 0, 5, 1, "d/console") +
		hdr(3, 0o104755, 1, 3, 0, 0, "d/f") + "abc\x00" +
		hdr(4, 0o120777, 1, 1, 0, 0, "d/l") + "f\x00\x00\x00" +
		hdr(0, 0, 1, 0, 0, 0, "TRAILER!!!")
	if got := buf.String(); got != want {
		t.Errorf("archive differs\n got %q\nwant %q", got, want)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("length %d not a multiple of 4", buf.Len())
	}
}

func TestWriterErrors(t *testing.T) {
	dir := Header{Name: "a", Type: TypeDir, Perm: 0o755}
	tests := []struct {
		name    string
		before  []Header
		h       Header
		wantErr error
	}{
		{"empty name", nil, Header{Name: "", Type: TypeDir}, ErrName},
		{"absolute", nil, Header{Name: "/a", Type: TypeDir}, ErrName},
		{"dotdot", []Header{dir}, Header{Name: "a/../b", Type: TypeDir}, ErrName},
		{"dot", nil, Header{Name: "./a", Type: TypeDir}, ErrName},
		{"double slash", []Header{dir}, Header{Name: "a//b", Type: TypeDir}, ErrName},
		{"trailing slash", nil, Header{Name: "a/", Type: TypeDir}, ErrName},
		{"nul", nil, Header{Name: "a\x00b", Type: TypeDir}, ErrName},
		{"trailer name", nil, Header{Name: "TRAILER!!!", Type: TypeReg}, ErrName},
		{"bad type", nil, Header{Name: "a", Type: 0o170000}, ErrHeader},
		{"zero type", nil, Header{Name: "a"}, ErrHeader},
		{"mode in perm", nil, Header{Name: "a", Type: TypeReg, Perm: 0o100644}, ErrHeader},
		{"size on dir", nil, Header{Name: "a", Type: TypeDir, Size: 1}, ErrHeader},
		{"negative size", nil, Header{Name: "a", Type: TypeReg, Size: -1}, ErrHeader},
		{"empty symlink", nil, Header{Name: "a", Type: TypeSymlink}, ErrHeader},
		{"too large", nil, Header{Name: "a", Type: TypeReg, Size: 1 << 32}, ErrTooLarge},
		{"rdev on file", nil, Header{Name: "a", Type: TypeReg, RdevMajor: 1}, ErrHeader},
		{"duplicate", []Header{dir}, dir, ErrDuplicate},
		{"unsorted", []Header{{Name: "b", Type: TypeDir}}, dir, ErrOrder},
		{"no parent", nil, Header{Name: "a/b", Type: TypeReg}, ErrNoParent},
		{"parent is a file", []Header{{Name: "a", Type: TypeReg}}, Header{Name: "a/b", Type: TypeReg}, ErrNoParent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(io.Discard)
			for _, h := range tt.before {
				if err := w.WriteHeader(&h); err != nil {
					t.Fatalf("setup %s: %v", h.Name, err)
				}
			}
			err := w.WriteHeader(&tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			// Sticky: nothing more is accepted.
			if err := w.Close(); err == nil {
				t.Error("Close after an error succeeded")
			}
		})
	}
}

func TestWriterSizeMismatch(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		close bool
	}{
		{"short then next header", "ab", false},
		{"short then close", "ab", true},
		{"long", "abcd", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(io.Discard)
			if err := w.WriteHeader(&Header{Name: "f", Type: TypeReg, Size: 3}); err != nil {
				t.Fatal(err)
			}
			_, werr := io.WriteString(w, tt.data)
			var err error
			switch {
			case werr != nil:
				err = werr
			case tt.close:
				err = w.Close()
			default:
				err = w.WriteHeader(&Header{Name: "g", Type: TypeDir})
			}
			if !errors.Is(err, ErrSize) {
				t.Fatalf("got %v, want ErrSize", err)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeader(&Header{Name: "a", Type: TypeDir}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteHeader after Close: %v", err)
	}
	if _, err := w.Write(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}
