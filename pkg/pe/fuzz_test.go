package pe

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// The seeds in testdata/fuzz come from testdata/mkfuzzseeds: Debian's
// systemd-stub and UKIs built from it, unsigned and signed by nix-uki,
// sbsign and osslsigncode.

// FuzzNewFile parses an image as inspect and verify do: headers, section
// table, every section's data, data directories, certificate table, and the
// CheckSum. Whatever NewFile accepts must be self-consistent: headers and
// sections inside the file, no section overlapping another.
func FuzzNewFile(f *testing.F) {
	fuzzbound.Fuzz(f, 3, func(t *testing.T, img []byte) {
		pf, err := NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		if int64(len(pf.Header)) != int64(pf.SizeOfHeaders) || int64(pf.SizeOfHeaders) > int64(len(img)) {
			t.Fatalf("Header is %d bytes, SizeOfHeaders %d, file %d", len(pf.Header), pf.SizeOfHeaders, len(img))
		}
		for i := range pf.Sections {
			s := &pf.Sections[i]
			if end := int64(s.PointerToRawData) + int64(s.SizeOfRawData); s.SizeOfRawData > 0 && end > int64(len(img)) {
				t.Fatalf("section %d ends at %d, past the file (%d)", i, end, len(img))
			}
			b, err := pf.SectionData(s, int64(len(img)))
			if err != nil {
				t.Fatalf("section %d inside the file does not read: %v", i, err)
			}
			if len(b) > int(s.SizeOfRawData) {
				t.Fatalf("section %d: %d bytes read, SizeOfRawData %d", i, len(b), s.SizeOfRawData)
			}
			_ = pf.Section(s.NameString())
		}
		for i := 0; i < int(pf.NumberOfRvaAndSizes); i++ {
			_ = pf.DataDirectory(i)
		}
		if d, err := pf.CertificateTable(); err == nil && int64(d.VirtualAddress)+int64(d.Size) > int64(len(img)) {
			t.Fatalf("certificate table [%d, +%d) accepted past the file (%d)", d.VirtualAddress, d.Size, len(img))
		}
		_ = Checksum(img, int(pf.ChecksumOffset()))
	})
}

// FuzzAppend adds a section to an image the way nix-uki build adds one to
// a stub, writes the result and parses it again: the writer's output must
// parse, keep every base section where it is in memory, and carry the new
// section's bytes.
func FuzzAppend(f *testing.F) {
	payload := []byte("appended by FuzzAppend")
	fuzzbound.Fuzz(f, 4, func(t *testing.T, img []byte) {
		a, err := NewAppender(img)
		if err != nil {
			return
		}
		if err := a.Append(".fuzz", int64(len(payload)), IMAGE_SCN_MEM_READ|IMAGE_SCN_CNT_INITIALIZED_DATA); err != nil {
			t.Fatal(err)
		}
		l, err := a.Layout()
		if err != nil {
			return
		}
		out := writeLayout(l, payload)
		if int64(len(out)) != l.Size() {
			t.Fatalf("wrote %d bytes, Layout.Size says %d", len(out), l.Size())
		}
		g, err := NewFile(bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatalf("the written image does not parse: %v", err)
		}
		base := a.Base().Sections
		if len(g.Sections) != len(base)+1 {
			t.Fatalf("%d sections written, want %d", len(g.Sections), len(base)+1)
		}
		for _, s := range base {
			var found bool
			for _, w := range g.Sections[:len(base)] {
				found = found || (w.Name == s.Name && w.VirtualAddress == s.VirtualAddress && w.VirtualSize == s.VirtualSize)
			}
			if !found {
				t.Fatalf("section %s at %#x moved in memory or was lost", s.NameString(), s.VirtualAddress)
			}
		}
		s := g.Section(".fuzz")
		if s == nil {
			t.Fatal("appended section missing")
		}
		got, err := g.SectionData(s, 1<<20)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("appended section reads %q, %v", got, err)
		}
	})
}

// writeLayout materialises a Layout whose only appended section holds
// payload.
func writeLayout(l *Layout, payload []byte) []byte {
	out := append([]byte(nil), l.Header...)
	for _, p := range l.Sections {
		data := p.Base
		if p.Appended >= 0 {
			data = payload
		}
		sec := make([]byte, p.Header.SizeOfRawData)
		copy(sec, data)
		out = append(out, sec...)
	}
	return out
}

// TestFuzzSeeds proves the seeds are the valid images their recipe made.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzNewFile", func(img []byte) error {
		_, err := NewFile(bytes.NewReader(img), int64(len(img)))
		return err
	})
	fuzzbound.EachSeed(t, "FuzzAppend", func(img []byte) error {
		a, err := NewAppender(img)
		if err != nil {
			return err
		}
		if a.Base().Section(".text") == nil {
			return errors.New("no .text section")
		}
		return nil
	})
}
