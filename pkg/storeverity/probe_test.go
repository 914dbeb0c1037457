package storeverity

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	// Nothing to measure: nothing to tell.
	os.MkdirAll(filepath.Join(dir, "empty", "sub"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(dir, "empty", "link"))
	if err := Probe(filepath.Join(dir, "empty")); err != nil {
		t.Errorf("no regular file: %v", err)
	}
	if err := Probe(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	// A regular file: the answer is the filesystem's. TMPDIR's filesystem
	// on these machines has no fs-verity; where it has, Probe passes.
	f := filepath.Join(dir, "full", "a", "file")
	os.MkdirAll(filepath.Dir(f), 0o755)
	os.WriteFile(f, []byte("x"), 0o444)
	err := Probe(filepath.Join(dir, "full"))
	if err != nil && !errors.Is(err, fsverity.ErrUnsupported) {
		t.Fatalf("got %v, want nil or fsverity.ErrUnsupported", err)
	}
	if err == nil {
		t.Logf("%s has fs-verity", dir)
	}
}
