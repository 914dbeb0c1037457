package install

import (
	"encoding/json"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseConfig reads the install configuration file: whatever parses is
// version 1 and passes its own checks again after a JSON round trip.
func FuzzParseConfig(f *testing.F) {
	fuzzbound.Fuzz(f, 32, func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if c.Version != ConfigVersion {
			t.Fatalf("version %d accepted", c.Version)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("a parsed configuration written back is refused: %v\n%s", err, out)
		}
	})
}

// TestFuzzSeeds proves the seeds are configurations ParseConfig accepts.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseConfig", func(data []byte) error {
		_, err := ParseConfig(data)
		return err
	})
}
