// Package nix holds the Nix side of the project and its tests, run with
// the machine's Nix (Debian 12's 2.8) and nixpkgs' lib alone: the
// expressions that run the tools inside derivations (built here), the
// package, the NixOS module and the flake (evaluated against stand-ins for
// nixpkgs, see testdata/nixos-stubs.nix), and the module's install
// configuration as pkg/install reads it. The expressions are the project's
// own and trusted.
package nix

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
)

// closure-manifest.nix, built by Nix from a real closure, gives the same
// manifest as `nix-closure-verify manifest` over `nix path-info` (and so
// the same NAR hashes Nix registered).
func TestClosureManifestDerivation(t *testing.T) {
	fx := nixtest.Build(t)
	dir := t.TempDir()
	// The tool must be in the store for a derivation to use it.
	bin := filepath.Join(dir, "tool", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "nix-closure-verify"), "./cmd/nix-closure-verify")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tool := strings.TrimSpace(nixtest.Run(t, "nix-store", "--add", filepath.Join(dir, "tool")))

	expr := filepath.Join(filepath.Dir(file), "closure-manifest.nix")
	manifest := strings.TrimSpace(nixtest.Run(t, "nix-build", "--no-out-link", "-E",
		`import `+expr+` { nix-closure-verify = builtins.storePath "`+tool+`"; root = builtins.storePath "`+fx.Top+`"; bash = "/bin/bash"; }`))
	got, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}

	pathInfo := filepath.Join(dir, "path-info.json")
	os.WriteFile(pathInfo, []byte(fx.PathInfoJSON), 0o644)
	want, err := exec.Command(filepath.Join(bin, "nix-closure-verify"), "manifest", "--path-info", pathInfo).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("derivation's manifest:\n%s\nwant:\n%s", got, want)
	}
}
