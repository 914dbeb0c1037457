package generation

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootspec"
)

// DefaultProfiles is where NixOS keeps system-N-link.
const DefaultProfiles = "/nix/var/nix/profiles"

// Generation is one system-N-link.
type Generation struct {
	Number int
	Link   string    // the link's path
	Time   time.Time // the link's own modification time (lstat)
	// Toplevel is the link's target, resolved (empty if it does not).
	Toplevel string
	// Spec is the toplevel's bootspec; nil when Err is set.
	Spec *bootspec.Document
	// Err says why the generation cannot be installed.
	Err error
}

// List returns the generations in dir, oldest first. It fails only if
// dir cannot be read; a generation that cannot be used carries its Err.
func List(dir string) ([]Generation, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var gens []Generation
	for _, e := range ents {
		n, ok := Number(e.Name())
		if !ok {
			continue
		}
		gens = append(gens, Read(filepath.Join(dir, e.Name()), n))
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i].Number < gens[j].Number })
	return gens, nil
}

// Number parses a profile link's name system-N-link.
func Number(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "system-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "-link")
	if !ok || s == "" || s[0] == '0' || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Read reads the generation whose link is path.
func Read(path string, number int) Generation {
	g := Generation{Number: number, Link: path}
	fi, err := os.Lstat(path)
	if err != nil {
		g.Err = err
		return g
	}
	g.Time = fi.ModTime()
	top, err := filepath.EvalSymlinks(path)
	if err != nil {
		g.Err = fmt.Errorf("%s points nowhere: %w", path, err)
		return g
	}
	g.Toplevel = top
	g.Spec, g.Err = ReadToplevel(top)
	return g
}

// ReadToplevel reads a system toplevel's bootspec.
func ReadToplevel(toplevel string) (*bootspec.Document, error) {
	d, err := bootspec.ReadFile(filepath.Join(toplevel, bootspec.FileName))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s has no %s (a system older than bootspec)", toplevel, bootspec.FileName)
		}
		return nil, err
	}
	return d, nil
}
