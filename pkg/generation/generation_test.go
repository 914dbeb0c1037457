package generation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNumber(t *testing.T) {
	for name, want := range map[string]int{
		"system-1-link": 1, "system-42-link": 42,
		"system-0-link": 0, "system-01-link": 0, "system--link": 0, "system-1": 0,
		"system-x-link": 0, "system-1-link.tmp": 0, "per-user": 0, "system": 0,
		"system-9999999999-link": 0, "system-+1-link": 0,
	} {
		n, ok := Number(name)
		if ok != (want > 0) || n != want {
			t.Errorf("Number(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
}

func writeToplevel(t *testing.T, dir, bootJSON string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if bootJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "boot.json"), []byte(bootJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestList(t *testing.T) {
	root := t.TempDir()
	good := `{"org.nixos.bootspec.v1":{"system":"x86_64-linux","kernel":"/k","kernelParams":[],"init":"/i","label":"L","toplevel":"/t"}}`
	profiles := filepath.Join(root, "profiles")
	os.Mkdir(profiles, 0o755)
	for _, l := range []struct {
		name, target string
	}{
		{"system-2-link", writeToplevel(t, filepath.Join(root, "t2"), good)},
		{"system-10-link", writeToplevel(t, filepath.Join(root, "t10"), good)},
		{"system-3-link", writeToplevel(t, filepath.Join(root, "t3"), "")},
		{"system-4-link", writeToplevel(t, filepath.Join(root, "t4"), "{")},
		{"system-5-link", filepath.Join(root, "gone")},
		{"system", filepath.Join(root, "t10")},
		{"system-6-link.tmp", filepath.Join(root, "t10")},
	} {
		if err := os.Symlink(l.target, filepath.Join(profiles, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// The link's own time, not its target's.
	if err := lutimes(filepath.Join(profiles, "system-2-link"), when); err != nil {
		t.Fatal(err)
	}
	gens, err := List(profiles)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, g := range gens {
		nums = append(nums, g.Number)
	}
	if len(gens) != 5 || nums[0] != 2 || nums[4] != 10 {
		t.Fatalf("numbers %v", nums)
	}
	if g := gens[0]; g.Err != nil || g.Spec == nil || !g.Time.Equal(when) || g.Toplevel != filepath.Join(root, "t2") {
		t.Errorf("generation 2: %+v", g)
	}
	for i, want := range map[int]string{1: "has no boot.json", 2: "malformed bootspec", 3: "points nowhere"} {
		if g := gens[i]; g.Err == nil || !strings.Contains(g.Err.Error(), want) {
			t.Errorf("generation %d: err %v, want %q", g.Number, g.Err, want)
		}
	}
	if _, err := List(filepath.Join(root, "none")); err == nil {
		t.Error("missing profile directory listed")
	}
}
