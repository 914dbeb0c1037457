package tpmkey

import (
	"crypto"
	"strconv"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseBlob reads hostile key blob files. Seeds are blobs swtpm made
// (TestWriteSeeds is their recipe). Whatever parses marshals back to a
// blob that parses to the same public key.
func FuzzParseBlob(f *testing.F) {
	fuzzbound.Fuzz(f, 64, func(t *testing.T, input []byte) {
		b, err := ParseBlob(input)
		if err != nil {
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseBlob(out)
		if err != nil {
			t.Fatalf("a parsed blob does not parse again: %v", err)
		}
		p1, _ := b.PublicKey()
		p2, _ := again.PublicKey()
		if !p1.(interface{ Equal(crypto.PublicKey) bool }).Equal(p2) {
			t.Fatal("public key changed in a round trip")
		}
	})
}

// TestFuzzSeeds proves every seed parses.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseBlob", func(input []byte) error {
		_, err := ParseBlob(input)
		return err
	})
}

func quote(b []byte) string { return strconv.Quote(string(b)) }
