package measure

import (
	"bytes"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParsePCRSig reads a .pcrsig (from a UKI's section or
// /.extra/tpm2-pcr-signature.json). Seeds were made by systemd-measure sign
// (testdata/mkfuzzseeds). Round trip: what parses is written by MarshalJSON
// in systemd's compact form, which parses to the same signatures and is
// written again to the same bytes.
func FuzzParsePCRSig(f *testing.F) {
	fuzzbound.Fuzz(f, 32, func(t *testing.T, data []byte) {
		s, err := ParsePCRSig(data)
		if err != nil {
			return
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON refuses what ParsePCRSig accepted: %v", err)
		}
		again, err := ParsePCRSig(out)
		if err != nil {
			t.Fatalf("MarshalJSON output does not parse: %v\n%s", err, out)
		}
		if !samePCRSig(s, again) {
			t.Fatalf("round trip changed the signatures:\n%s", out)
		}
		if out2, _ := again.MarshalJSON(); !bytes.Equal(out, out2) {
			t.Fatalf("MarshalJSON is not stable:\n%s\n%s", out, out2)
		}
	})
}

func samePCRSig(a, b PCRSig) bool {
	return slices.EqualFunc(a.Banks, b.Banks, func(x, y BankSignatures) bool {
		return x.Bank == y.Bank && slices.EqualFunc(x.Entries, y.Entries, SignedPolicy.equal)
	})
}

// TestFuzzSeeds proves the seeds are .pcrsig files ParsePCRSig accepts.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParsePCRSig", func(b []byte) error {
		_, err := ParsePCRSig(b)
		return err
	})
}
