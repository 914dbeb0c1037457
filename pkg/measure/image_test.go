package measure

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// TestPredictImageBounded: the crafted image of pkg/uki (816 bytes, a
// .linux claiming 4 GiB of padding) is refused before anything is hashed.
func TestPredictImageBounded(t *testing.T) {
	img, err := os.ReadFile("../uki/testdata/padding.efi")
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PredictImage(f, AllBanks, DefaultPhases()); !errors.Is(err, uki.ErrVirtualSize) {
		t.Errorf("PredictImage: %v, want %v", err, uki.ErrVirtualSize)
	}
}
