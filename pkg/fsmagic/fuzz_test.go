package fsmagic

import (
	"bytes"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzDetect: no panic, bounded work, and an answer only for bytes that
// carry one of the two magic numbers. Seeds are the heads of images made by
// mksquashfs and mkfs.erofs (testdata/mkfuzzseeds).
func FuzzDetect(f *testing.F) {
	fuzzbound.Fuzz(f, 2, func(t *testing.T, b []byte) {
		fs, err := Detect(bytes.NewReader(b))
		if err != nil {
			return
		}
		if fs != Squashfs && fs != Erofs {
			t.Fatalf("detected %q", fs)
		}
		if fs == Squashfs && !bytes.HasPrefix(b, []byte("hsqs")) {
			t.Fatal("squashfs without its magic")
		}
	})
}

func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzDetect", func(b []byte) error {
		_, err := Detect(bytes.NewReader(b))
		return err
	})
}
