package sbat

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParse reads SBAT text as inspect and build do. Seeds are real .sbat
// sections (testdata/mkfuzzseeds). Round trips: every entry parsed is
// written back by String to a line that parses to it; Merge of the text
// parses back to its header and the entries, duplicates dropped, unless
// one component is listed twice with different lines, which Merge refuses.
func FuzzParse(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, text []byte) {
		_, entries, err := Parse("fuzz", text)
		if err != nil {
			return
		}
		for _, e := range entries {
			again, err := ParseLine(e.String())
			if err != nil || again != e {
				t.Fatalf("entry %q does not read back: %v", e.String(), err)
			}
		}
		merged, err := Merge(Source{Name: "fuzz", Text: text})
		if errors.Is(err, ErrDuplicateComponent) {
			// Merge refuses one source listing a component twice with
			// different lines (which generation would it mean?).
			for i, a := range entries {
				for _, b := range entries[i+1:] {
					if a.Component == b.Component && a != b {
						return
					}
				}
			}
			t.Fatalf("Merge says a component is listed twice, but no two entries differ: %v", err)
		}
		if err != nil {
			t.Fatalf("Merge refuses text Parse accepted: %v", err)
		}
		header, got, err := Parse("merged", merged)
		if err != nil || header == nil || header.String() != Header {
			t.Fatalf("merged SBAT does not parse under the header: %v", err)
		}
		var want []Entry
		for _, e := range entries {
			if !slices.Contains(want, e) {
				want = append(want, e)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("merged entries %q, want %q", got, want)
		}
	})
}

// TestFuzzSeeds proves the seeds are valid SBAT under the version line.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParse", func(text []byte) error {
		header, entries, err := Parse("seed", text)
		if err == nil && (header == nil || len(entries) == 0) {
			err = fmt.Errorf("header %v, %d entries", header, len(entries))
		}
		return err
	})
}
