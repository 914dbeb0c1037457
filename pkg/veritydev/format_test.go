package veritydev

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
)

func TestFormatAndVerify(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	data := writeImage(t, img, 130)
	if err := os.WriteFile(img, append(data, 1, 2, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := verity.ParseUUID(testUUID)
	tree, uncovered, err := Format(context.Background(), img, img+".verity", verity.Params{Salt: []byte{0xab}, UUID: u})
	if err != nil {
		t.Fatal(err)
	}
	if uncovered != 3 || tree.Geometry.DataBlocks != 130 {
		t.Errorf("uncovered %d, %d data blocks", uncovered, tree.Geometry.DataBlocks)
	}
	// The same tree as format() writes directly.
	want := format(t, img, filepath.Join(dir, "direct.verity"), 0)
	if !bytes.Equal(tree.RootHash(), want) {
		t.Errorf("root %x, want %x", tree.RootHash(), want)
	}
	if _, err := Verify(context.Background(), Options{Image: img, HashPath: img + ".verity", RootHash: want}, 1); err != nil {
		t.Errorf("Verify: %v", err)
	}
	wrong := bytes.Clone(want)
	wrong[5] ^= 1
	if _, err := Verify(context.Background(), Options{Image: img, HashPath: img + ".verity", RootHash: wrong}, 1); !errors.Is(err, verity.ErrRootMismatch) {
		t.Errorf("Verify with a wrong root: %v", err)
	}

	// The hash file may not be the image, under any name: its tree would
	// replace it.
	link := filepath.Join(dir, "link.img")
	if err := os.Link(img, link); err != nil {
		t.Fatal(err)
	}
	for _, hashFile := range []string{img, link} {
		if _, _, err := Format(context.Background(), img, hashFile, verity.Params{}); !errors.Is(err, verity.ErrOverlap) {
			t.Errorf("Format into %s: %v, want ErrOverlap", filepath.Base(hashFile), err)
		}
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, append(data, 1, 2, 3)) {
		t.Error("the image changed")
	}
}

// verify refuses a tree inside the data it covers on the image's own
// device, as open does.
func TestVerifyOverlap(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	data := writeImage(t, img, 200)
	root := format(t, img, img+".verity", 0)
	tree, _ := os.ReadFile(img + ".verity")
	copy(data[100*4096:], tree)
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(context.Background(), Options{Image: img, HashOffset: 100 * 4096, RootHash: root}, 1)
	if !errors.Is(err, verity.ErrOverlap) {
		t.Errorf("Verify: %v, want ErrOverlap", err)
	}
}
