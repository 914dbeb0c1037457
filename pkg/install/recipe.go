package install

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// recipeVersion changes whenever what goes into a UKI changes in a way
// the recipe's other fields do not show, so that every entry is rebuilt.
const recipeVersion = 1

// recipe is everything a UKI is made from, identified cheaply: store paths
// by name (the store never changes a path's contents), other files by
// their SHA-256. Its hash names the entry, so an unchanged generation is
// recognised without composing its image.
type recipe struct {
	Version      int      `json:"v"`
	Stub         string   `json:"stub"`
	Kernel       string   `json:"kernel"`
	Initrd       string   `json:"initrd,omitempty"`
	Cmdline      string   `json:"cmdline"`
	OSRelease    string   `json:"osrel"`
	Toplevel     string   `json:"toplevel"`
	Closure      bool     `json:"closure"`
	ManifestFrom string   `json:"manifestFrom,omitempty"`
	FSVerity     bool     `json:"fsverity,omitempty"` // omitted when off: entries made before the setting keep their names
	Certificate  string   `json:"cert,omitempty"`
	PCRKey       string   `json:"pcrKey,omitempty"`
	PCRBanks     []string `json:"pcrBanks,omitempty"`
	Phases       []string `json:"phases,omitempty"`
}

// hash is the recipe's name part: 20 hex digits of its SHA-256 (80 bits;
// entries of one ESP number in the tens).
func (r *recipe) hash() string {
	b, _ := json.Marshal(r) // plain strings and slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:10])
}

// identities caches what identify gave for each path in one run.
type identities struct {
	storeDir string
	seen     map[string]string
}

// identify names a file in a recipe.
func (id *identities) identify(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	if strings.HasPrefix(path, id.storeDir+"/") {
		return path, nil
	}
	if s, ok := id.seen[path]; ok {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	s := "sha256:" + hex.EncodeToString(h.Sum(nil))
	id.seen[path] = s
	return s, nil
}
