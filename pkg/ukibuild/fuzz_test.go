package ukibuild

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// FuzzReadProfile reads a profile PE as --join-profile does. Seeds are
// real profile PEs (testdata/mkfuzzseeds): one made by ukify 257, one by
// nix-uki, both on Debian's addon stub 257.
func FuzzReadProfile(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, b []byte) {
		p, err := ReadProfile(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		if len(p.Profile) == 0 {
			t.Fatal("a profile without .profile")
		}
		for _, s := range p.Sections {
			if s.Name == uki.SectionProfile || s.Name == uki.SectionPCRSig || s.Size() > int64(len(b)) {
				t.Fatalf("section %s of %d bytes taken from %d", s.Name, s.Size(), len(b))
			}
		}
	})
}

// TestFuzzSeeds: every seed is a profile PE with a .profile and a .cmdline.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzReadProfile", func(b []byte) error {
		p, err := ReadProfile(bytes.NewReader(b), int64(len(b)), "seed")
		if err != nil {
			return err
		}
		if len(p.Sections) != 1 || p.Sections[0].Name != uki.SectionCmdline {
			return fmt.Errorf("sections %v, want one .cmdline", p.Sections)
		}
		return nil
	})
}
