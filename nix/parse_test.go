package nix

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
)

// Every Nix file of the repository parses with Nix 2.8 (Debian 12's), the
// oldest Nix the expressions are written for.
func TestNixFilesParse(t *testing.T) {
	instantiate := nixeval.Instantiate(t)
	root := nixeval.Root()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".nix") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"flake.nix", "nix/package.nix", "nix/module.nix", "nix/tests/default.nix"} {
		found := false
		for _, f := range files {
			found = found || f == filepath.Join(root, want)
		}
		if !found {
			t.Errorf("%s is missing", want)
		}
	}
	for _, f := range files {
		if out, err := exec.Command(instantiate, "--parse", f).CombinedOutput(); err != nil {
			rel, _ := filepath.Rel(root, f)
			t.Errorf("%s does not parse: %v\n%s", rel, err, out)
		}
	}
}
