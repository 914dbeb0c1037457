package signer

import (
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseTPMRef parses hostile tpm: references. Seeds are the README's
// forms (testdata/fuzz/FuzzParseTPMRef, by hand). Whatever parses reads
// back from its String.
func FuzzParseTPMRef(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, input []byte) {
		r, err := ParseTPMRef(string(input))
		if err != nil {
			return
		}
		again, err := ParseTPMRef(r.String())
		if err != nil || *again != *r {
			t.Fatalf("%q: String %q does not read back: %v", input, r.String(), err)
		}
	})
}

// TestFuzzSeeds proves every seed parses.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseTPMRef", func(input []byte) error {
		_, err := ParseTPMRef(string(input))
		return err
	})
}
