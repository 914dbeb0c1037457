package cpio

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/tree.cpio from our writer")

// goldenTree is the tree testdata/golden/mk.sh makes on disk for GNU cpio.
func goldenTree(t *testing.T) []byte {
	t.Helper()
	var numbers strings.Builder
	for i := 1; i <= 1000; i++ {
		numbers.WriteString(strconv.Itoa(i) + "\n")
	}
	var a Archive
	for _, err := range []error{
		a.AddDir("bin", 0o755),
		a.AddBytes("bin/busybox", 0o755, []byte("#!x")),
		a.AddSymlink("bin/sh", "busybox"),
		a.AddBytes("e1", 0o644, []byte("1")),
		a.AddBytes("e22", 0o644, []byte("22")),
		a.AddBytes("e333", 0o644, []byte("333")),
		a.AddBytes("e4444", 0o600, []byte("4444")),
		a.AddDir("etc", 0o755),
		a.AddBytes("etc/empty", 0o644, nil),
		a.AddBytes("etc/hostname", 0o644, []byte("hello\n")),
		a.AddBytes("etc/numbers", 0o644, []byte(numbers.String())),
		a.AddDir("etc/ssl", 0o700),
		a.AddBytes("etc/ssl/five", 0o600, []byte("55555")),
		a.AddDir("sbin", 0o755),
		a.AddBytes("sbin/su", 0o4755, []byte("#!su")),
		a.AddDir("tmp", 0o1777),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := a.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden pins our archive of the golden tree byte for byte.
func TestGolden(t *testing.T) {
	got := goldenTree(t)
	path := filepath.Join("testdata", "golden", "tree.cpio")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("archive differs from %s (%d bytes, golden %d)", path, len(got), len(want))
	}
}

// TestGoldenEqualsGNUCpio compares our archive of the golden tree with GNU
// cpio's (testdata/golden/tree.gnu.cpio, made by mk.sh), entry by entry and
// byte by byte, except for the differences mk.sh lists: inode numbers from
// 1, not 0; nlink 1 for directories; no padding to 512 bytes.
func TestGoldenEqualsGNUCpio(t *testing.T) {
	gnu, err := os.ReadFile(filepath.Join("testdata", "golden", "tree.gnu.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	ours := goldenTree(t)
	if len(gnu)%512 != 0 || len(gnu) < len(ours) || len(gnu)-len(ours) >= 512 || !allZero(gnu[len(ours):]) {
		t.Fatalf("GNU's archive (%d bytes) is not ours (%d bytes) padded with zeros to 512 bytes", len(gnu), len(ours))
	}
	gnuEntries, err := parseNewc(gnu[:len(ours)])
	if err != nil {
		t.Fatal(err)
	}
	ourEntries, err := parseNewc(ours)
	if err != nil {
		t.Fatal(err)
	}
	if len(gnuEntries) != len(ourEntries) {
		t.Fatalf("%d entries, GNU %d", len(ourEntries), len(gnuEntries))
	}
	for i, g := range gnuEntries {
		o := ourEntries[i]
		if g.name != trailerName {
			g.fields[fieldIno]++ // GNU counts from 0
		}
		if Type(g.fields[fieldMode]&^permMask) == TypeDir {
			g.fields[fieldNlink] = 1 // GNU stores the real link count
		}
		if g.name != o.name || g.fields != o.fields || !bytes.Equal(g.data, o.data) {
			t.Errorf("entry %d: ours %s %08x, GNU (normalised) %s %08x", i, o.name, o.fields, g.name, g.fields)
		}
	}
}

type newcEntry struct {
	fields [numFields]uint32
	name   string
	data   []byte
}

// parseNewc reads the headers of a whole archive, for the comparison.
func parseNewc(b []byte) ([]newcEntry, error) {
	var es []newcEntry
	for off := 0; off < len(b); {
		if off+headerSize > len(b) || string(b[off:off+6]) != magic {
			return nil, fmt.Errorf("no header at %d", off)
		}
		var e newcEntry
		for i := range e.fields {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("header at %d: %w", off, err)
			}
			e.fields[i] = uint32(v)
		}
		nameEnd := off + headerSize + int(e.fields[fieldNamesize])
		dataStart := nameEnd + padding(int64(nameEnd))
		dataEnd := dataStart + int(e.fields[fieldFilesize])
		if e.fields[fieldNamesize] == 0 || dataEnd > len(b) {
			return nil, fmt.Errorf("entry at %d runs past the end", off)
		}
		e.name = string(b[off+headerSize : nameEnd-1])
		e.data = b[dataStart:dataEnd]
		es = append(es, e)
		off = dataEnd + padding(int64(dataEnd))
		if e.name == trailerName {
			if off != len(b) {
				return nil, fmt.Errorf("%d bytes after the trailer", len(b)-off)
			}
			break
		}
	}
	return es, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// The recipe of tree.gnu.cpio, run again with the installed GNU cpio,
// gives the committed golden.
func TestGoldenRecipe(t *testing.T) {
	peer.Tool(t, "cpio")
	dir := t.TempDir()
	if out, err := exec.Command("sh", filepath.Join("testdata", "golden", "mk.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("mk.sh: %v\n%s", err, out)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "tree.gnu.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("testdata", "golden", "tree.gnu.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Errorf("GNU cpio now writes other bytes than the committed tree.gnu.cpio (%d vs %d bytes)", len(fresh), len(committed))
	}
}
