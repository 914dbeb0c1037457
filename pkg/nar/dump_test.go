package nar

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
)

// Every path of the fixture closure, built by the machine's Nix, must hash to
// the narHash and narSize Nix registered for it.
func TestHashEqualsNixNarHash(t *testing.T) {
	fx := nixtest.Build(t)
	var infos []struct {
		Path    string `json:"path"`
		NarHash string `json:"narHash"`
		NarSize uint64 `json:"narSize"`
	}
	if err := json.Unmarshal([]byte(fx.PathInfoJSON), &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos) < 5 {
		t.Fatalf("closure too small: %d paths", len(infos))
	}
	for _, in := range infos {
		d, err := Hash(in.Path)
		if err != nil {
			t.Fatalf("%s: %v", in.Path, err)
		}
		got := "sha256-" + base64.StdEncoding.EncodeToString(d.Hash[:])
		if got != in.NarHash || d.Size != in.NarSize {
			t.Errorf("%s: ours %s %d, nix %s %d", in.Path, got, d.Size, in.NarHash, in.NarSize)
		}
	}
}

// Byte-for-byte equality with `nix-store --dump` on trees made here, including
// modes Nix would canonicalise away in the store.
func TestDumpEqualsNixStoreDump(t *testing.T) {
	nixtest.Require(t)
	root := filepath.Join(t.TempDir(), "tree")
	mustTree(t, root)
	var ours bytes.Buffer
	if err := Dump(&ours, root); err != nil {
		t.Fatal(err)
	}
	theirs := nixtest.Run(t, "nix-store", "--dump", root)
	if !bytes.Equal(ours.Bytes(), []byte(theirs)) {
		t.Fatalf("NAR differs from nix-store --dump (ours %d bytes, nix %d bytes)", ours.Len(), len(theirs))
	}
	// A single file and a single symlink as the root.
	for _, p := range []string{filepath.Join(root, "exe"), filepath.Join(root, "dangling")} {
		var b bytes.Buffer
		if err := Dump(&b, p); err != nil {
			t.Fatal(err)
		}
		if want := nixtest.Run(t, "nix-store", "--dump", p); b.String() != want {
			t.Fatalf("%s: NAR differs from nix-store --dump", p)
		}
	}
}

func mustTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"..b": "x", ".a": "x", "a": "x", "A": "x", "b..": "x", "with space": "s",
		"grüße-日本": "u", strings.Repeat("n", 255): "long", "empty": "",
		"seven": "1234567", "eight": "12345678", "nine": "123456789",
		"big":          strings.Repeat("z", 3*copyBufferSize+5),
		"sub/deeper/f": "f",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "exe"), []byte("#!/bin/sh\n"), 0o755)
	os.Mkdir(filepath.Join(root, "empty-dir"), 0o755)
	os.Symlink("../nowhere", filepath.Join(root, "dangling"))
	os.Symlink("sub", filepath.Join(root, "dirlink"))
	os.Symlink("loop2", filepath.Join(root, "loop1"))
	os.Symlink("loop1", filepath.Join(root, "loop2"))
	deep := root
	for i := 0; i < 60; i++ {
		deep = filepath.Join(deep, "d")
	}
	os.MkdirAll(deep, 0o755)
	os.WriteFile(filepath.Join(deep, "f"), []byte("bottom"), 0o644)
}

// Pinned from `nix-store --dump | sha256sum` on Nix 2.8.0, so the format is
// checked even where Nix is not installed.
func TestPinnedDigests(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("hello\n"), 0o644)
	d, err := Hash(f)
	if err != nil {
		t.Fatal(err)
	}
	const want = "1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"
	if got := hexString(d.Hash[:]); got != want || d.Size != 120 {
		t.Fatalf("got %s %d", got, d.Size)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestUnsupportedType(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	_, err := Hash(dir)
	var ute *UnsupportedTypeError
	if !errors.As(err, &ute) || ute.Path != fifo || !strings.Contains(err.Error(), "fifo") {
		t.Fatalf("err = %v", err)
	}
}

func TestVisitorSeesEveryEntryInOrder(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "b"), nil, 0o644)
	os.Mkdir(filepath.Join(root, "a"), 0o755)
	os.WriteFile(filepath.Join(root, "a", "x"), nil, 0o644)
	var seen []string
	d := Dumper{Visit: func(e *Entry) error {
		rel, _ := filepath.Rel(root, e.Path)
		seen = append(seen, rel)
		return nil
	}}
	if _, err := d.Hash(root); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ","); got != ".,a,a/x,b" {
		t.Fatalf("visited %s", got)
	}
}

func TestMissingPath(t *testing.T) {
	if _, err := Hash(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkHash(b *testing.B) {
	dir := b.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	os.WriteFile(filepath.Join(dir, "f"), data, 0o644)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Hash(dir); err != nil {
			b.Fatal(err)
		}
	}
}
