package mtoolsfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

func TestRoundTrip(t *testing.T) {
	peer.Tool(t, "mkfs.vfat")
	peer.Tool(t, "mcopy")
	dir := t.TempDir()
	f := &FS{Image: filepath.Join(dir, "esp.img"), Tmp: dir}
	if err := Format(f.Image, 8<<20); err != nil {
		t.Fatal(err)
	}
	free0, block, err := f.Space()
	if err != nil || block <= 0 || free0 <= 0 {
		t.Fatalf("space %d %d %v", free0, block, err)
	}
	if err := f.MkdirAll("EFI/Linux"); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789"), 10000)
	w, err := f.Create("EFI/Linux/a-long-name.efi.tmp")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.WriteAt([]byte("X"), 5)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename("EFI/Linux/a-long-name.efi.tmp", "EFI/Linux/a-long-name.efi"); err != nil {
		t.Fatal(err)
	}
	names, err := f.ReadDir("EFI/Linux")
	if err != nil || len(names) != 1 || names[0] != "a-long-name.efi" {
		t.Fatalf("names %v %v", names, err)
	}
	fi, err := f.Stat("EFI/Linux/A-LONG-NAME.EFI")
	if err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("stat %v %v", fi, err)
	}
	r, err := f.Open("EFI/Linux/a-long-name.efi")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	data[5] = 'X'
	if !bytes.Equal(got, data) {
		t.Error("content differs")
	}
	free1, _, _ := f.Space()
	if free0-free1 < int64(len(data)) {
		t.Errorf("free space %d -> %d", free0, free1)
	}
	if err := f.Remove("EFI/Linux/a-long-name.efi"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat("EFI/Linux/a-long-name.efi"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after remove: %v", err)
	}
	if _, err := f.ReadDir("loader"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}
