// Package nixeval evaluates the project's Nix expressions (nix/*.nix) with
// the machine's nix-instantiate and nixpkgs' lib alone, for tests: nixpkgs
// itself is not on these machines, its lib is.
//
// Lib finds nixpkgs' lib through NIXPKGS_LIB, then <nixpkgs/lib> on the Nix
// search path, then the copy beside the repository (shared/nixpkgs-lib/lib
// in the repository's parent directory or any ancestor). Outside CI a
// missing lib or nix-instantiate skips the test with the reason; in CI
// (CI=true) it fails it.
//
// The expressions evaluated are the project's own and are trusted.
package nixeval

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Missing skips the test, or fails it in CI, with the reason.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Root returns the repository's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Instantiate returns the path of nix-instantiate.
func Instantiate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err != nil {
		Missing(t, "nix-instantiate not installed (scripts/deps installs nix-bin)")
	}
	return p
}

// Lib returns the directory holding nixpkgs' lib (its default.nix).
func Lib(t testing.TB) string {
	t.Helper()
	dir, tried := findLib(Instantiate(t))
	if dir == "" {
		Missing(t, "nixpkgs' lib not found (tried %s); set NIXPKGS_LIB to a nixpkgs or nixpkgs.lib checkout", strings.Join(tried, ", "))
	}
	return dir
}

func findLib(instantiate string) (dir string, tried []string) {
	if env := os.Getenv("NIXPKGS_LIB"); env != "" {
		tried = append(tried, "NIXPKGS_LIB="+env)
		if d := libDir(env); d != "" {
			return d, tried
		}
	}
	tried = append(tried, "<nixpkgs/lib>")
	if out, err := exec.Command(instantiate, "--find-file", "nixpkgs/lib").Output(); err == nil {
		if d := libDir(strings.TrimSpace(string(out))); d != "" {
			return d, tried
		}
	}
	// The copy sits in a "shared" directory beside the checkout; a CI clone
	// may sit deeper than the developers' checkouts, so every ancestor is
	// tried, nearest first.
	for dir := filepath.Dir(Root()); ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "nixpkgs-lib")
		tried = append(tried, cand)
		if d := libDir(cand); d != "" {
			return d, tried
		}
		if dir == filepath.Dir(dir) {
			return "", tried
		}
	}
}

// libDir accepts lib itself or a checkout with lib/ in it.
func libDir(dir string) string {
	for _, d := range []string{dir, filepath.Join(dir, "lib")} {
		if _, err := os.Stat(filepath.Join(d, "modules.nix")); err == nil {
			if abs, err := filepath.Abs(d); err == nil {
				return abs
			}
		}
	}
	return ""
}

// EvalError is a failed evaluation, with Nix's message.
type EvalError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("nix-instantiate %s: %v\n%s", strings.Join(e.Args, " "), e.Err, e.Stderr)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Eval runs `nix-instantiate --eval --strict --json ARGS` in the repository
// and returns the JSON it prints, or an *EvalError.
func Eval(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	all := append([]string{"--eval", "--strict", "--json"}, args...)
	cmd := exec.Command(Instantiate(t), all...)
	cmd.Dir = Root()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &EvalError{Args: all, Stderr: stderr.String(), Err: err}
	}
	return out, nil
}

// MustEval is Eval failing the test on an error.
func MustEval(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := Eval(t, args...)
	if err != nil {
		var ee *EvalError
		if errors.As(err, &ee) {
			t.Fatalf("%v", ee)
		}
		t.Fatal(err)
	}
	return out
}
