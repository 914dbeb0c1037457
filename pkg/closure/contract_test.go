package closure

import (
	"errors"
	"strings"
	"testing"
)

// An embedded manifest always comes with the boot check's settings: without
// them the check would take its settings from the command line.
func TestInitrdArchiveNeedsSettings(t *testing.T) {
	for _, settings := range [][]byte{nil, {}} {
		if _, _, err := InitrdArchive([]byte(goodManifest()), settings); !errors.Is(err, ErrNoSettings) {
			t.Errorf("settings %q: %v", settings, err)
		}
	}
	if _, _, err := InitrdArchive([]byte(goodManifest()), []byte("s\n")); err != nil {
		t.Fatal(err)
	}
}

// Both manifest versions can be embedded; a broken one of either cannot.
func TestInitrdArchiveTakesBothVersions(t *testing.T) {
	v2 := string(marshalV2(t, samplePaths(t)))
	for _, c := range []struct {
		data string
		ok   bool
	}{{goodManifest(), true}, {v2, true}, {v2[:len(v2)-4], false}, {strings.Replace(v2, "d a\n", "d b\n", 1), false}, {"nix-closure-manifest 9\n", false}} {
		if _, _, err := InitrdArchive([]byte(c.data), []byte("s\n")); (err == nil) != c.ok {
			t.Errorf("%.40q: err = %v", c.data, err)
		}
	}
}
