package pkcs11uri

import (
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParse parses hostile URIs. Seeds are the forms the README and the
// tests use (testdata/fuzz/FuzzParse, written by hand). Whatever parses
// has a description without its PIN, and a pin-source that is either a
// file or an error.
func FuzzParse(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, input []byte) {
		u, err := Parse(string(input))
		if err != nil {
			return
		}
		_ = u.String()
		_, _ = u.PINFile()
	})
}

// TestFuzzSeeds proves every seed parses.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParse", func(input []byte) error {
		_, err := Parse(string(input))
		return err
	})
}
