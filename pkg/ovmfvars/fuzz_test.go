package ovmfvars

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParse reads a variable store. Seeds were written by virt-fw-vars
// (testdata/mkfuzzseeds). What parses must write back, and the rewrite
// must read as the same variables and rewrite to the same bytes.
func FuzzParse(f *testing.F) {
	fuzzbound.Fuzz(f, 8, func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		out, err := s.Bytes()
		if err != nil {
			t.Fatalf("Bytes refuses what Parse accepted: %v", err)
		}
		if len(out) != len(b) {
			t.Fatalf("size changed from %d to %d", len(b), len(out))
		}
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("our rewrite does not parse: %v", err)
		}
		if !reflect.DeepEqual(s.Variables(), s2.Variables()) {
			t.Fatal("our rewrite reads as other variables")
		}
		again, _ := s2.Bytes()
		if !bytes.Equal(out, again) {
			t.Fatal("rewriting the rewrite changes it")
		}
	})
}

// TestFuzzSeeds proves the seeds are stores that parse.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParse", func(b []byte) error {
		_, err := Parse(b)
		return err
	})
}
