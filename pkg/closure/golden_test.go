package closure

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
)

// testdata/golden holds a tiny tree, Nix's registration of it after
// nix-store --add (nix-store --dump-db) and the manifest made from that
// registration; testdata/golden/regen made both with Nix. Without Nix, this
// checks that the same registration still gives the same bytes, and that our
// NAR hash of each tree entry is the one Nix registered.
func TestGoldenManifest(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	reg, err := os.ReadFile(filepath.Join(dir, "registration"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "manifest"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseRegistration(bytes.NewReader(reg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManifest(DefaultStoreDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Marshal(); !bytes.Equal(got, want) {
		t.Fatalf("manifest differs from testdata/golden/manifest:\n%s", got)
	}
	if _, err := ParseManifest(want); err != nil {
		t.Fatalf("the golden manifest does not read back: %v", err)
	}
	for _, e := range m.Entries {
		name := e.Path[len(DefaultStoreDir)+1+hashPartLen+1:]
		d, err := nar.Hash(filepath.Join(dir, "tree", name))
		if err != nil {
			t.Fatal(err)
		}
		if d.Hash != e.NarHash || d.Size != e.NarSize {
			t.Errorf("%s: our NAR %x %d, Nix registered %x %d", name, d.Hash, d.Size, e.NarHash, e.NarSize)
		}
	}
	if len(m.Entries) != 2 || !strings.HasSuffix(m.Entries[0].Path, "-hello") {
		t.Fatalf("entries %v", m.Entries)
	}
}
