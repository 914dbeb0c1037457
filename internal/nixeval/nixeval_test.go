package nixeval

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLibDir(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "checkout", "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lib, "modules.nix"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ in, want string }{
		{lib, lib},                              // lib itself
		{filepath.Join(dir, "checkout"), lib},   // a checkout holding lib/
		{dir, ""},                               // neither
		{filepath.Join(dir, "missing"), ""},     // nothing there
		{filepath.Join(lib, "modules.nix"), ""}, // a file
	} {
		if got := libDir(tt.in); got != tt.want {
			t.Errorf("libDir(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}

	// NIXPKGS_LIB comes first, and is reported when it is no lib.
	t.Setenv("NIXPKGS_LIB", filepath.Join(dir, "checkout"))
	if got, _ := findLib("/nonexistent/nix-instantiate"); got != lib {
		t.Errorf("with NIXPKGS_LIB set: %q, want %q", got, lib)
	}
	t.Setenv("NIXPKGS_LIB", dir)
	if _, tried := findLib("/nonexistent/nix-instantiate"); len(tried) == 0 || tried[0] != "NIXPKGS_LIB="+dir {
		t.Errorf("tried %q, want NIXPKGS_LIB first", tried)
	}
}
