package bootspec

import (
	"fmt"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParse reads boot.json as install does: whatever parses has the
// fields an entry is built from.
func FuzzParse(f *testing.F) {
	fuzzbound.Fuzz(f, 32, func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		if err := complete(d, 0); err != nil {
			t.Fatal(err)
		}
	})
}

func complete(d *Document, depth int) error {
	if d.Kernel == "" || d.Init == "" || d.Toplevel == "" || d.Label == "" || depth > MaxDepth {
		return fmt.Errorf("incomplete document accepted at depth %d: %+v", depth, d.Spec)
	}
	for _, s := range d.Specialisations {
		if err := checkName(s.Name); err != nil {
			return err
		}
		if err := complete(&s.Document, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// TestFuzzSeeds proves the seeds are documents Parse accepts.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParse", func(data []byte) error {
		d, err := Parse(data)
		if err != nil {
			return err
		}
		return complete(d, 0)
	})
}
