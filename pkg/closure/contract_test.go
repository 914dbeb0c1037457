package closure

import (
	"errors"
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
