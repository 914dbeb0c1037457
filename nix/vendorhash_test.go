package nix

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

var vendorHashLine = regexp.MustCompile(`(?m)^\s*vendorHash = "([^"]*)";`)

// nix/package.nix's vendorHash is the NAR hash of what `go mod vendor`
// writes (buildGoModule's fixed-output go-modules derivation runs exactly
// that), so a change to go.mod or go.sum cannot leave a stale hash behind.
func TestVendorHash(t *testing.T) {
	nix := peer.Tool(t, "nix")
	root := nixeval.Root()
	pkg := filepath.Join(root, "nix", "package.nix")
	src, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	m := vendorHashLine.FindAllSubmatch(src, -1)
	if len(m) != 1 {
		t.Fatalf("%s: want exactly one line `vendorHash = \"sha256-...\";`, found %d", pkg, len(m))
	}
	have := string(m[0][1])

	vendor := filepath.Join(t.TempDir(), "vendor")
	cmd := exec.Command("go", "mod", "vendor", "-o", vendor)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	// nixpkgs' go-modules derivation makes the directory even when no
	// module is vendored.
	if err := os.MkdirAll(vendor, 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd = exec.Command(nix, "--extra-experimental-features", "nix-command", "hash", "path", "--type", "sha256", "--sri", vendor)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix hash path: %v\n%s", err, stderr.String())
	}
	want := strings.TrimSpace(string(out))
	if have != want {
		t.Errorf("nix/package.nix has vendorHash = %q but `go mod vendor` gives %s:\nput `vendorHash = \"%s\";` in nix/package.nix", have, want, want)
	}
}
