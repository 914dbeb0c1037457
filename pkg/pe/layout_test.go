package pe

import (
	"bytes"
	"debug/pe"
	"errors"
	"fmt"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

func readStub(t *testing.T) []byte {
	t.Helper()
	return peer.File(t, debianStub)
}

// render writes a layout with section i filled with byte i+1.
func render(l *Layout) []byte {
	var buf bytes.Buffer
	buf.Write(l.Header)
	for _, p := range l.Sections {
		if p.Appended < 0 {
			buf.Write(p.Base)
			continue
		}
		d := bytes.Repeat([]byte{byte(p.Appended + 1)}, int(p.Header.VirtualSize))
		buf.Write(d)
		buf.Write(make([]byte, int(p.Header.SizeOfRawData)-len(d)))
	}
	out := buf.Bytes()
	ck := l.ChecksumOffset
	sum := Checksum(out, int(ck))
	out[ck], out[ck+1], out[ck+2], out[ck+3] = byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24)
	return out
}

func TestAppendGrowsHeaders(t *testing.T) {
	stub := readStub(t)
	base, err := NewFile(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		t.Fatal(err)
	}
	room := (int64(base.SizeOfHeaders) - base.SectionTableOffset - int64(len(base.Sections))*40) / 40
	for _, extra := range []int{1, int(room), int(room) + 1, 40} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			a, err := NewAppender(stub)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < extra; i++ {
				if err := a.Append(fmt.Sprintf(".s%d", i), int64(100+i*1000), IMAGE_SCN_MEM_READ|IMAGE_SCN_CNT_INITIALIZED_DATA); err != nil {
					t.Fatal(err)
				}
			}
			l, err := a.Layout()
			if err != nil {
				t.Fatal(err)
			}
			img := render(l)
			if int64(len(img)) != l.Size() {
				t.Fatalf("size %d, layout says %d", len(img), l.Size())
			}
			f, err := NewFile(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatalf("our parser: %v", err)
			}
			if extra > int(room) && f.SizeOfHeaders <= base.SizeOfHeaders {
				t.Errorf("SizeOfHeaders %#x did not grow", f.SizeOfHeaders)
			}
			gf, err := pe.NewFile(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("debug/pe: %v", err)
			}
			if got, want := len(gf.Sections), len(base.Sections)+extra; got != want {
				t.Fatalf("%d sections, want %d", got, want)
			}
			// Stub sections keep their addresses and contents.
			for _, s := range base.Sections {
				g := gf.Section(s.NameString())
				if g == nil || g.VirtualAddress != s.VirtualAddress {
					t.Fatalf("stub section %s moved in memory", s.NameString())
				}
				want := stub[s.PointerToRawData : s.PointerToRawData+s.SizeOfRawData]
				got, _ := g.Data()
				if !bytes.Equal(got[:len(want)], want) {
					t.Fatalf("stub section %s contents changed", s.NameString())
				}
			}
			var prevEnd uint32
			for i := 0; i < extra; i++ {
				g := gf.Section(fmt.Sprintf(".s%d", i))
				if g.VirtualSize != uint32(100+i*1000) {
					t.Errorf("%s VirtualSize %d", g.Name, g.VirtualSize)
				}
				if g.VirtualAddress%base.SectionAlignment != 0 || g.Offset%base.FileAlignment != 0 || g.VirtualAddress < prevEnd {
					t.Errorf("%s misplaced: VA %#x offset %#x", g.Name, g.VirtualAddress, g.Offset)
				}
				prevEnd = g.VirtualAddress + g.VirtualSize
				d, _ := g.Data()
				if d[0] != byte(i+1) || d[g.VirtualSize-1] != byte(i+1) {
					t.Errorf("%s data wrong", g.Name)
				}
			}
			oh := gf.OptionalHeader.(*pe.OptionalHeader64)
			if want := uint32(AlignUp(int64(prevEnd), int64(base.SectionAlignment))); oh.SizeOfImage != want {
				t.Errorf("SizeOfImage %#x, want %#x", oh.SizeOfImage, want)
			}
			if gf.FileHeader.PointerToSymbolTable != 0 || gf.FileHeader.NumberOfSymbols != 0 {
				t.Error("symbol table not dropped")
			}
			if oh.CheckSum != Checksum(img, int(l.ChecksumOffset)) {
				t.Error("checksum")
			}
			// objdump must read it too.
			path := t.TempDir() + "/img.efi"
			os.WriteFile(path, img, 0o644)
			out, err := exec.Command(peer.Tool(t, "objdump"), "-h", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), fmt.Sprintf(".s%d", extra-1)) || strings.Contains(string(out), "warning") {
				t.Fatalf("objdump -h: %v\n%s", err, out)
			}
		})
	}
}

func TestAppendRejects(t *testing.T) {
	stub := readStub(t)
	a, _ := NewAppender(stub)
	if err := a.Append(".toolongname", 1, 0); !errors.Is(err, ErrSectionName) {
		t.Errorf("long name: %v", err)
	}
	if err := a.Append("", 1, 0); !errors.Is(err, ErrSectionName) {
		t.Errorf("empty name: %v", err)
	}
	for i := 0; i < MaxSections; i++ {
		a.Append(".x", 1, 0)
	}
	if _, err := a.Layout(); err == nil {
		t.Error("more than 96 sections accepted")
	}
}
