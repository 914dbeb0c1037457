// Package peer finds the real tools and files tests compare against
// (osslsigncode, veritysetup, Debian's systemd-stub ...). Outside CI a missing
// one skips the test; in CI (CI=true), where scripts/deps installs all of
// them, it fails the test, so a missing install step cannot pass unseen.
package peer

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Missing skips the test, or fails it in CI, saying what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (scripts/deps installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Tool returns the path of a program on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s not installed", name)
	}
	return p
}

// File returns the contents of a file a Debian package installs.
func File(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		Missing(t, "%v", err)
	}
	return b
}
