package efivar

import (
	"os"
	"os/exec"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// peerTool returns the path of a peer tool, skipping the test when it is
// missing (failing in CI, where scripts/deps installs it).
func peerTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		peer.Missing(t, "%s missing (Debian package %s)", name, pkg)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runErr(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
