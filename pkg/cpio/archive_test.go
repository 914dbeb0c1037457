package cpio

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

type testEntry struct {
	name   string
	typ    Type
	perm   uint32
	data   string // file contents or symlink target
	major  uint32
	minor  uint32
	random int // if > 0, a streamed file of this many pseudo-random bytes
}

// entries covers every type, data lengths 0-5 (all paddings), name lengths
// that hit every name padding, implicit parents and a multi-megabyte file.
var entries = []testEntry{
	{name: "bin/busybox", typ: TypeReg, perm: 0o755, data: "#!x"},
	{name: "bin/sh", typ: TypeSymlink, data: "busybox"},
	{name: "dev", typ: TypeDir, perm: 0o755},
	{name: "dev/console", typ: TypeChar, perm: 0o600, major: 5, minor: 1},
	{name: "dev/vda", typ: TypeBlock, perm: 0o660, major: 254, minor: 0},
	{name: "dev/fifo", typ: TypeFIFO, perm: 0o644},
	{name: "e0", typ: TypeReg, perm: 0o644, data: ""},
	{name: "e1", typ: TypeReg, perm: 0o644, data: "1"},
	{name: "e22", typ: TypeReg, perm: 0o644, data: "22"},
	{name: "e333", typ: TypeReg, perm: 0o644, data: "333"},
	{name: "e4444", typ: TypeReg, perm: 0o600, data: "4444"},
	{name: "e55555", typ: TypeReg, perm: 0o4755, data: "55555"},
	{name: "a/b-c", typ: TypeReg, perm: 0o644, data: "sorts before a/b/"},
	{name: "a/b/c/deep", typ: TypeReg, perm: 0o644, data: "deep"},
	{name: "tmp", typ: TypeDir, perm: 0o1777},
	{name: "big/blob", typ: TypeReg, perm: 0o644, random: 3<<20 + 3},
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func buildArchive(t *testing.T, es []testEntry) []byte {
	t.Helper()
	var a Archive
	for _, e := range es {
		var err error
		switch e.typ {
		case TypeDir:
			err = a.AddDir(e.name, e.perm)
		case TypeReg:
			if e.random > 0 {
				data := randomBytes(e.random)
				err = a.AddReader(e.name, e.perm, int64(len(data)), func() (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(data)), nil
				})
			} else {
				err = a.AddBytes(e.name, e.perm, []byte(e.data))
			}
		case TypeSymlink:
			err = a.AddSymlink(e.name, e.data)
		default:
			err = a.AddNode(e.name, e.typ, e.perm, e.major, e.minor)
		}
		if err != nil {
			t.Fatalf("adding %s: %v", e.name, err)
		}
	}
	var buf bytes.Buffer
	n, err := a.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// TestGNUCpioLists checks, with Debian's cpio as the reader, that every
// entry comes out with its name, order, type, mode, owner 0, link count 1,
// mtime 0, size and device numbers.
func TestGNUCpioLists(t *testing.T) {
	cpio := peer.Tool(t, "cpio")
	archive := buildArchive(t, entries)
	cmd := exec.Command(cpio, "-i", "-t", "-v", "-n", "--quiet")
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	cmd.Stdin = bytes.NewReader(archive)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v\n%s", err, out)
	}
	want := []string{
		"drwxr-xr-x 1 0 0 0 a",
		"drwxr-xr-x 1 0 0 0 a/b",
		"-rw-r--r-- 1 0 0 17 a/b-c",
		"drwxr-xr-x 1 0 0 0 a/b/c",
		"-rw-r--r-- 1 0 0 4 a/b/c/deep",
		"drwxr-xr-x 1 0 0 0 big",
		fmt.Sprintf("-rw-r--r-- 1 0 0 %d big/blob", 3<<20+3),
		"drwxr-xr-x 1 0 0 0 bin",
		"-rwxr-xr-x 1 0 0 3 bin/busybox",
		"lrwxrwxrwx 1 0 0 7 bin/sh -> busybox",
		"drwxr-xr-x 1 0 0 0 dev",
		"crw------- 1 0 0 5, 1 dev/console",
		"prw-r--r-- 1 0 0 0 dev/fifo",
		"brw-rw---- 1 0 0 254, 0 dev/vda",
		"-rw-r--r-- 1 0 0 0 e0",
		"-rw-r--r-- 1 0 0 1 e1",
		"-rw-r--r-- 1 0 0 2 e22",
		"-rw-r--r-- 1 0 0 3 e333",
		"-rw------- 1 0 0 4 e4444",
		"-rwsr-xr-x 1 0 0 5 e55555",
		"drwxrwxrwt 1 0 0 0 tmp",
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		// mode nlink uid gid size-or-"maj, min" Mon DD YYYY name...
		date := strings.Join(f[len(f)-3-nameFields(f):len(f)-nameFields(f)], " ")
		if date != "Jan 1 1970" {
			t.Errorf("%s: mtime %q, want the epoch", line, date)
		}
		got = append(got, strings.Join(append(f[:len(f)-3-nameFields(f)], f[len(f)-nameFields(f):]...), " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cpio -itv listing\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// nameFields is how many trailing fields of a listing line are the name
// ("x" or "x -> y").
func nameFields(f []string) int {
	if len(f) >= 3 && f[len(f)-2] == "->" {
		return 3
	}
	return 1
}

// TestGNUCpioExtracts unpacks with Debian's cpio and compares contents,
// modes and symlink targets. Device nodes are left out: creating them
// needs root.
func TestGNUCpioExtracts(t *testing.T) {
	cpio := peer.Tool(t, "cpio")
	var es []testEntry
	for _, e := range entries {
		if e.typ != TypeChar && e.typ != TypeBlock {
			es = append(es, e)
		}
	}
	archive := buildArchive(t, es)
	dir := t.TempDir()
	cmd := exec.Command(cpio, "-i", "-d", "--quiet", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(archive)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	for _, e := range es {
		p := filepath.Join(dir, e.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", e.name, err)
			continue
		}
		switch e.typ {
		case TypeReg:
			want := []byte(e.data)
			if e.random > 0 {
				want = randomBytes(e.random)
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: contents differ (%d bytes, want %d; %v)", e.name, len(got), len(want), err)
			}
		case TypeSymlink:
			if got, _ := os.Readlink(p); got != e.data {
				t.Errorf("%s: target %q, want %q", e.name, got, e.data)
			}
			continue
		}
		// Setuid and sticky bits survive as Go's ModeSetuid/ModeSticky.
		got := uint32(fi.Mode().Perm())
		if fi.Mode()&os.ModeSetuid != 0 {
			got |= 0o4000
		}
		if fi.Mode()&os.ModeSticky != 0 {
			got |= 0o1000
		}
		if got != e.perm {
			t.Errorf("%s: mode %#o, want %#o", e.name, got, e.perm)
		}
	}
}

// TestInodesAndTrailer reads back the raw headers: inodes count from 1 in
// archive order, nlink is 1, and TRAILER!!! comes last with inode 0.
func TestInodesAndTrailer(t *testing.T) {
	archive := buildArchive(t, entries[:6])
	var inos []uint64
	var names []string
	for off := 0; off < len(archive); {
		h := archive[off : off+headerSize]
		if string(h[:6]) != magic {
			t.Fatalf("bad magic at %d", off)
		}
		field := func(i int) uint64 {
			var v uint64
			fmt.Sscanf(string(h[6+8*i:6+8*i+8]), "%x", &v)
			return v
		}
		if field(fieldNlink) != 1 || field(fieldMtime) != 0 || field(fieldUID) != 0 || field(fieldGID) != 0 {
			t.Errorf("entry at %d: nlink/mtime/uid/gid not 1/0/0/0", off)
		}
		nameLen := int(field(fieldNamesize))
		name := string(archive[off+headerSize : off+headerSize+nameLen-1])
		inos = append(inos, field(fieldIno))
		names = append(names, name)
		off += headerSize + nameLen
		off += (4 - off%4) % 4
		off += int(field(fieldFilesize))
		off += (4 - off%4) % 4
	}
	if names[len(names)-1] != trailerName || inos[len(inos)-1] != 0 {
		t.Errorf("last entry %q ino %d, want the trailer with ino 0", names[len(names)-1], inos[len(inos)-1])
	}
	for i, ino := range inos[:len(inos)-1] {
		if ino != uint64(i+1) {
			t.Errorf("entry %d (%s): inode %d, want %d", i, names[i], ino, i+1)
		}
	}
}

// TestReproducible builds the same entries in two insertion orders and
// requires identical bytes.
func TestReproducible(t *testing.T) {
	rev := make([]testEntry, len(entries))
	for i, e := range entries {
		rev[len(entries)-1-i] = e
	}
	a, b := buildArchive(t, entries), buildArchive(t, rev)
	if !bytes.Equal(a, b) {
		t.Error("archives from the same entries differ")
	}
}

func TestArchiveErrors(t *testing.T) {
	short := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("ab")), nil }
	long := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abcd")), nil }
	failing := func() (io.ReadCloser, error) { return nil, os.ErrPermission }
	tests := []struct {
		name    string
		build   func(a *Archive) error
		wantErr error // from Add* when addErr, else from WriteTo
		addErr  bool
	}{
		{"duplicate file", func(a *Archive) error {
			a.AddBytes("f", 0o644, nil)
			return a.AddBytes("f", 0o644, nil)
		}, ErrDuplicate, true},
		{"file over implicit dir", func(a *Archive) error {
			a.AddBytes("d/f", 0o644, nil)
			return a.AddBytes("d", 0o644, nil)
		}, ErrDuplicate, true},
		{"child of a file", func(a *Archive) error {
			a.AddBytes("f", 0o644, nil)
			return a.AddBytes("f/g", 0o644, nil)
		}, ErrHeader, true},
		{"bad name", func(a *Archive) error { return a.AddDir("../x", 0o755) }, ErrName, true},
		{"node type", func(a *Archive) error { return a.AddNode("x", TypeReg, 0o644, 0, 0) }, ErrHeader, true},
		{"short reader", func(a *Archive) error { return a.AddReader("f", 0o644, 3, short) }, ErrSize, false},
		{"long reader", func(a *Archive) error { return a.AddReader("f", 0o644, 3, long) }, ErrSize, false},
		{"open fails", func(a *Archive) error { return a.AddReader("f", 0o644, 3, failing) }, os.ErrPermission, false},
		{"missing host file", func(a *Archive) error { return a.AddFile("f", 0o644, "/nonexistent/x") }, os.ErrNotExist, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Archive
			err := tt.build(&a)
			if !tt.addErr {
				if err != nil {
					t.Fatalf("add: %v", err)
				}
				_, err = a.WriteTo(io.Discard)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestExplicitDirReplacesImplicit(t *testing.T) {
	var a Archive
	if err := a.AddBytes("etc/x", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.AddDir("etc", 0o700); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(hdr(1, 0o40700, 1, 0, 0, 0, "etc"))) {
		t.Errorf("explicit directory mode lost: %q", buf.Bytes()[:120])
	}
}

// zeroReader yields n zero bytes without holding them.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestStreamingMemoryFlat writes a 512 MiB file through the archive and
// checks that allocation stays far below its size.
func TestStreamingMemoryFlat(t *testing.T) {
	const size = 512 << 20
	var a Archive
	if err := a.AddReader("huge", 0o644, size, func() (io.ReadCloser, error) {
		return io.NopCloser(&zeroReader{n: size}), nil
	}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := a.WriteTo(io.Discard)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n < size {
		t.Fatalf("wrote %d bytes", n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes to stream %d", alloc, size)
	}
}
