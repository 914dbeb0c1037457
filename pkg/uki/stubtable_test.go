package uki

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/systemdpeer"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// The tables read from Debian's stubs (scripts/systemd-versions pins them):
// the order is systemd's UnifiedSection enum, which the stub measures in.
var wantStubSections = map[int][]string{
	252: {".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrsig", ".pcrpkey"},
	254: {".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey"},
	257: {".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids"},
	262: {".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw"},
}

func TestReadStubSectionsRealStubs(t *testing.T) {
	for _, v := range systemdpeer.Versions(t) {
		t.Run(v.String(), func(t *testing.T) {
			got, err := ReadStubSections(v.StubPE(t))
			if err != nil {
				t.Fatal(err)
			}
			if want := wantStubSections[v.Major]; !slices.Equal(got, want) {
				t.Errorf("systemd-stub %s lists %q, want %q", v, got, want)
			}
		})
	}
}

// stubWithTable makes a minimal PE32+ image (ImageBase 0x10000000) whose
// one section, .data at RVA 0x1000, holds the given names and, at offset
// 0x100, an array of pointers to them (ImageBase+RVA), as a stub does.
func stubWithTable(t *testing.T, names []string, ptrs []int) []byte {
	t.Helper()
	le := binary.LittleEndian
	const base, va, hdr = 0x10000000, 0x1000, 0x200
	img := make([]byte, hdr+0x400)
	copy(img, "MZ")
	le.PutUint32(img[0x3c:], 0x40)
	copy(img[0x40:], "PE\x00\x00")
	fh := img[0x44:]
	le.PutUint16(fh[0:], 0x8664)
	le.PutUint16(fh[2:], 1)
	le.PutUint16(fh[16:], 240)
	le.PutUint16(fh[18:], 0x22)
	oh := img[0x58:]
	le.PutUint16(oh[0:], pe.MagicPE32Plus)
	le.PutUint64(oh[optImageBase:], base)
	le.PutUint32(oh[32:], 0x1000)
	le.PutUint32(oh[36:], 0x200)
	le.PutUint32(oh[56:], 0x2000)
	le.PutUint32(oh[60:], hdr)
	le.PutUint32(oh[108:], 16)
	h := img[0x148:]
	copy(h, ".data")
	le.PutUint32(h[8:], 0x400)
	le.PutUint32(h[12:], va)
	le.PutUint32(h[16:], 0x400)
	le.PutUint32(h[20:], hdr)
	data := img[hdr:]
	off := 0x10
	var addrs []uint64
	for _, n := range names {
		copy(data[off:], n+"\x00")
		addrs = append(addrs, base+va+uint64(off))
		off += len(n) + 1
	}
	for i, p := range ptrs {
		le.PutUint64(data[0x100+8*i:], addrs[p])
	}
	return img
}

func TestReadStubSectionsCrafted(t *testing.T) {
	names := []string{".linux", ".osrel", ".cmdline", "notasection", ".waytoolongname"}
	for _, tc := range []struct {
		name string
		ptrs []int
		want []string
		err  error
	}{
		{"table", []int{0, 1, 2}, []string{".linux", ".osrel", ".cmdline"}, nil},
		{"ends at a string that is no section name", []int{0, 1, 3, 2}, []string{".linux", ".osrel"}, nil},
		{"ends at a name over 8 bytes", []int{0, 2, 4}, []string{".linux", ".cmdline"}, nil},
		{"a lone pointer is no table", []int{0}, nil, ErrNoSectionTable},
		{"no pointer to .linux", []int{1, 2}, nil, ErrNoSectionTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := stubWithTable(t, names, tc.ptrs)
			f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadStubSections(f)
			if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
				t.Errorf("ReadStubSections = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
