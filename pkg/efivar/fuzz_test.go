package efivar

import (
	"bytes"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseSignatureLists decodes a variable's signature lists (db, KEK, PK,
// dbx as firmware returns them). Seeds were written by efitools
// (testdata/mkfuzzseeds). Round trip: lists that all hold entries encode
// back to the very bytes decoded.
func FuzzParseSignatureLists(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, b []byte) {
		lists, err := ParseSignatureLists(b)
		if err != nil {
			return
		}
		for _, l := range lists {
			if len(l.Signatures) == 0 {
				return // an empty list is valid but has no encoding here
			}
		}
		out, err := MarshalSignatureLists(lists...)
		if err != nil {
			t.Fatalf("MarshalSignatureLists refuses what ParseSignatureLists accepted: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip changed the bytes:\n% x\n% x", b, out)
		}
	})
}

// TestFuzzSeeds proves the seeds are signature lists that parse.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseSignatureLists", func(b []byte) error {
		_, err := ParseSignatureLists(b)
		return err
	})
}
