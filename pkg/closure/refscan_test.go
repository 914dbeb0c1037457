package closure

import (
	"strings"
	"testing"
)

// A reference split across writes at any offset is still found, and runs
// that merely contain a candidate's prefix are not.
func TestRefScannerSeams(t *testing.T) {
	hash := "34fjjmpy392nx9kxf70xa6v9s4yq8p7l"
	other := "0cxjpflv8b9lbk9qq3jgix4rlqbwdxkc"
	stream := "\x00garbage/nix/store/" + hash + "-a\x00and " + other[:20] + "!"
	cands := map[string]string{hash: hash + "-a", other: other + "-b"}
	for cut1 := 0; cut1 <= len(stream); cut1++ {
		for _, cut2 := range []int{cut1, min(cut1+5, len(stream)), len(stream)} {
			s := newRefScanner(cands)
			s.Write([]byte(stream[:cut1]))
			s.Write([]byte(stream[cut1:cut2]))
			s.Write([]byte(stream[cut2:]))
			if _, ok := s.found[hash]; !ok || len(s.found) != 1 {
				t.Fatalf("cuts %d,%d: found %v", cut1, cut2, s.found)
			}
		}
	}
	// Byte-at-a-time writes.
	s := newRefScanner(cands)
	for _, c := range []byte(strings.Repeat("x", 40) + hash) {
		s.Write([]byte{c})
	}
	if len(s.found) != 1 {
		t.Fatalf("byte writes: %v", s.found)
	}
}
