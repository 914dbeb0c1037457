package sbkeys

import (
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseRef parses hostile .ref files. Seeds are the forms keys create
// writes and the README shows (testdata/fuzz/FuzzParseRef, by hand, see
// its README). Whatever parses is one line that parses again unchanged.
func FuzzParseRef(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, input []byte) {
		ref, err := ParseRef(input)
		if err != nil {
			return
		}
		again, err := ParseRef([]byte(ref))
		if err != nil || again != ref {
			t.Fatalf("%q: %q does not read back: %v", input, ref, err)
		}
	})
}

// TestFuzzSeeds proves every seed parses.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseRef", func(input []byte) error {
		_, err := ParseRef(input)
		return err
	})
}
