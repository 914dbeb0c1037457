package iso9660

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParse reads a volume descriptor sector as the boot check reads a
// device: no panic, bounded work, and whatever it accepts is printable
// and in blkid's form. Seeds are xorriso's (testdata/mkfuzzseeds).
func FuzzParse(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, s []byte) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		if len(v.Label) > MaxLabel || !printable(v.Label) {
			t.Fatalf("label %q", v.Label)
		}
		if v.UUID != "" && len(v.UUID) != 22 {
			t.Fatalf("UUID %q", v.UUID)
		}
		again, err := Read(bytes.NewReader(append(make([]byte, PVDOffset), s...)))
		if err != nil || again != v {
			t.Fatalf("Read and Parse disagree: %+v, %+v, %v", v, again, err)
		}
	})
}

func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParse", func(s []byte) error {
		v, err := Parse(s)
		if err == nil && v.UUID == "" && v.Label != "" {
			err = fmt.Errorf("%+v", v)
		}
		return err
	})
}
