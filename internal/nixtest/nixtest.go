// Package nixtest builds real store paths with the machine's Nix (Debian's
// nix-bin) for tests that compare our results with Nix's own. Builders are
// host programs (/bin/sh, /bin/bash): no nixpkgs is needed.
package nixtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// Config is the Nix configuration tests run with: single-user as root, no
// sandbox, no substituters. Passed through NIX_CONFIG so the machine's own
// nix.conf is left alone.
const Config = "build-users-group =\nsandbox = false\nexperimental-features = nix-command\nsubstituters =\n"

// Env returns the process environment with NIX_CONFIG set.
func Env() []string {
	return append(os.Environ(), "NIX_CONFIG="+Config)
}

// Require skips the test when Nix is missing, except in CI, where
// scripts/deps installs it and its absence is a failure.
func Require(t testing.TB) {
	t.Helper()
	peer.Tool(t, "nix-build")
}

// Run runs a Nix command and returns its standard output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// Fixture is a built closure whose top-level path references the others.
type Fixture struct {
	Top       string   // the top-level store path
	Closure   []string // every path of Top's closure, sorted
	AttrsJSON string   // a real .attrs.json from exportReferencesGraph (a file)
	// Registration is the output of `nix-store --dump-db` for the closure.
	Registration string
	// PathInfoJSON is the output of `nix path-info --json -r Top`.
	PathInfoJSON string
}

var (
	once    sync.Once
	fixture *Fixture
	failure string
)

// Build builds the fixture once per test binary.
func Build(t testing.TB) *Fixture {
	t.Helper()
	Require(t)
	once.Do(func() { fixture, failure = build() })
	if fixture == nil {
		t.Fatal(failure)
	}
	return fixture
}

func build() (*Fixture, string) {
	dir, err := os.MkdirTemp("", "nixtest-")
	if err != nil {
		return nil, err.Error()
	}
	defer os.RemoveAll(dir)
	expr := filepath.Join(dir, "fixture.nix")
	if err := os.WriteFile(expr, []byte(Expression), 0o644); err != nil {
		return nil, err.Error()
	}
	run := func(name string, args ...string) (string, string) {
		cmd := exec.Command(name, args...)
		cmd.Env = Env()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", name + " " + strings.Join(args, " ") + ": " + err.Error() + "\n" + stderr.String()
		}
		return strings.TrimSpace(string(out)), ""
	}
	top, fail := run("nix-build", expr, "-A", "top", "--no-out-link")
	if fail != "" {
		return nil, fail
	}
	attrsOut, fail := run("nix-build", expr, "-A", "attrs", "--no-out-link")
	if fail != "" {
		return nil, fail
	}
	closure, fail := run("nix-store", "-qR", top)
	if fail != "" {
		return nil, fail
	}
	paths := strings.Fields(closure)
	reg, fail := run("nix-store", append([]string{"--dump-db"}, paths...)...)
	if fail != "" {
		return nil, fail
	}
	info, fail := run("nix", "path-info", "--json", "-r", top)
	if fail != "" {
		return nil, fail
	}
	var check []any
	if err := json.Unmarshal([]byte(info), &check); err != nil {
		return nil, "nix path-info output: " + err.Error()
	}
	return &Fixture{
		Top:          top,
		Closure:      sortStrings(paths),
		AttrsJSON:    filepath.Join(attrsOut, "attrs.json"),
		Registration: reg + "\n",
		PathInfoJSON: info,
	}, ""
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
