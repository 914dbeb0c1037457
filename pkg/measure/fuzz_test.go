package measure

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
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

// FuzzStubVersion reads a stub's version from its .sdmagic section and
// picks the measurement rules for it, as inspect and measure do for any
// image. Seed: Debian's systemd-stub's .sdmagic.
func FuzzStubVersion(f *testing.F) {
	fuzzbound.Fuzz(f, 8, func(t *testing.T, sdmagic []byte) {
		info, err := uki.ParseSDMagic(sdmagic)
		if err != nil {
			return
		}
		if info.Version == "" || strings.ContainsAny(info.Version, " \t\x00") {
			t.Fatalf("version %q", info.Version)
		}
		_, _ = RulesForStub(info)
	})
}

func samePCRSig(a, b PCRSig) bool {
	return slices.EqualFunc(a.Banks, b.Banks, func(x, y BankSignatures) bool {
		return x.Bank == y.Bank && slices.EqualFunc(x.Entries, y.Entries, SignedPolicy.equal)
	})
}

// TestFuzzSeeds proves the seeds are .pcrsig files ParsePCRSig accepts and
// a stub version the rules know.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParsePCRSig", func(b []byte) error {
		_, err := ParsePCRSig(b)
		return err
	})
	fuzzbound.EachSeed(t, "FuzzStubVersion", func(b []byte) error {
		info, err := uki.ParseSDMagic(b)
		if err == nil {
			_, err = RulesForStub(info)
		}
		return err
	})
}
