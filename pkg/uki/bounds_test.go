package uki

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

var update = flag.Bool("update", false, "rewrite testdata/padding.efi")

// craftPadding is the recipe of testdata/padding.efi: an 816-byte PE32+
// image with a systemd-stub 252 .sdmagic and a .linux of 48 bytes in the
// file whose VirtualSize claims 4 GiB of zero padding (issue 8: inspect
// spent minutes hashing it).
func craftPadding() []byte {
	le := binary.LittleEndian
	img := make([]byte, 816)
	copy(img, "MZ")
	le.PutUint32(img[0x3c:], 0x40)
	copy(img[0x40:], "PE\x00\x00")
	fh := img[0x44:]
	le.PutUint16(fh[0:], 0x8664) // Machine: x86-64
	le.PutUint16(fh[2:], 2)      // NumberOfSections
	le.PutUint16(fh[16:], 240)   // SizeOfOptionalHeader: 112 + 16 directories
	le.PutUint16(fh[18:], 0x22)  // executable, large address aware
	oh := img[0x58:]
	le.PutUint16(oh[0:], pe.MagicPE32Plus)
	le.PutUint32(oh[32:], 0x1000) // SectionAlignment
	le.PutUint32(oh[36:], 0x10)   // FileAlignment
	le.PutUint32(oh[60:], 0x200)  // SizeOfHeaders
	le.PutUint32(oh[108:], 16)    // NumberOfRvaAndSizes
	sections := []struct {
		name                string
		vsize, va, raw, ptr uint32
	}{
		{".sdmagic", 0x40, 0x1000, 0x100, 0x200},
		{".linux", 0xffff0000, 0x2000, 0x30, 0x300},
	}
	for i, s := range sections {
		h := img[0x148+40*i:]
		copy(h, s.name)
		le.PutUint32(h[8:], s.vsize)
		le.PutUint32(h[12:], s.va)
		le.PutUint32(h[16:], s.raw)
		le.PutUint32(h[20:], s.ptr)
		le.PutUint32(h[36:], pe.IMAGE_SCN_MEM_READ|pe.IMAGE_SCN_CNT_INITIALIZED_DATA)
	}
	copy(img[0x200:], "#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####")
	copy(img[0x300:], "not a kernel")
	return img
}

func TestPaddingGolden(t *testing.T) {
	img := craftPadding()
	if *update {
		if err := os.WriteFile("testdata/padding.efi", img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile("testdata/padding.efi")
	if err != nil || !bytes.Equal(have, img) {
		t.Fatalf("testdata/padding.efi is not craftPadding's output (go test -run TestPaddingGolden -update): %v", err)
	}
}

// TestInspectBoundedByFile: inspect of the crafted image returns at once,
// says what is wrong and does not call it a UKI.
func TestInspectBoundedByFile(t *testing.T) {
	img := craftPadding()
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckVirtualSizes(f); !errors.Is(err, ErrVirtualSize) || !strings.Contains(err.Error(), "section .linux") {
		t.Errorf("CheckVirtualSizes: %v", err)
	}
	start := time.Now()
	info, err := Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	// Hashing 4 GiB takes many seconds; nothing bounded does.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Inspect took %v", d)
	}
	if info.UKI || len(info.Problems) == 0 || !strings.Contains(info.Problems[0], ErrVirtualSize.Error()) {
		t.Errorf("UKI %v, problems %q", info.UKI, info.Problems)
	}
	for _, s := range info.Sections {
		if (s.Name == ".linux") != (s.SHA256 == "") {
			t.Errorf("section %s sha256 %q", s.Name, s.SHA256)
		}
	}
}

func TestCheckVirtualSizes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		vsize uint32
		ok    bool
	}{
		{"no padding", 0x30, true},
		{"padding within the file's size and the allowance", 0x30 + 816 + MaxExtraPadding, true},
		{"padding beyond it", 0x30 + 817 + MaxExtraPadding, false},
	} {
		img := craftPadding()
		binary.LittleEndian.PutUint32(img[0x148+40+8:], tc.vsize)
		f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckVirtualSizes(f); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
