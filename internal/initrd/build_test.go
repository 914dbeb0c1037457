package initrd

import (
	"bytes"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func hostSpec(t *testing.T) Spec {
	t.Helper()
	if _, err := os.Stat(DefaultBusybox); err != nil {
		peer.Missing(t, "%s missing: %v", "static busybox (busybox-static)", err)
	}
	_, version, err := FindKernel("/boot", DefaultModulesDir)
	if err != nil {
		peer.Missing(t, "%s missing: %v", "a kernel in /boot with its modules (linux-image-amd64)", err)
	}
	return Spec{
		ModulesDir: filepath.Join(DefaultModulesDir, version),
		Modules:    []string{"dm-verity"},
		Marker:     "HELLO 'quoted' marker",
		Run:        []string{"/bin/check", "--flag", "it's"},
		Files: []File{
			{Name: "/bin/check", Data: []byte("#!/bin/sh\nexit 3\n"), Perm: 0o755},
			{Name: "etc/os-release", HostPath: "/etc/os-release", Perm: 0o644},
		},
	}
}

// TestBuildListedByCpio checks the image's contents with Debian's cpio.
func TestBuildListedByCpio(t *testing.T) {
	cpioTool, err := exec.LookPath("cpio")
	if err != nil {
		peer.Missing(t, "%s missing: %v", "cpio", err)
	}
	s := hostSpec(t)
	var buf bytes.Buffer
	if err := Build(&buf, s); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cpioTool, "-i", "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -it: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		listed[l] = true
	}
	version := filepath.Base(s.ModulesDir)
	for _, want := range []string{
		"init", "bin/busybox", "bin/sh", "dev/console", "proc", "sys", "tmp", "bin/check", "etc/os-release",
		"lib/modules/" + version + "/kernel/drivers/md/dm-verity.ko",
		"lib/modules/" + version + "/kernel/drivers/md/dm-mod.ko",
	} {
		if !listed[want] {
			t.Errorf("%s missing from the image:\n%s", want, out)
		}
	}
}

// TestInitScript checks the script's syntax with busybox sh and that it
// does its steps in order with its arguments quoted.
func TestInitScript(t *testing.T) {
	s := hostSpec(t)
	mods, err := ResolveModules(s.ModulesDir, s.Modules)
	if err != nil {
		t.Fatal(err)
	}
	script := initScript(s, mods, "lib/modules/V")
	path := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(DefaultBusybox, "sh", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("busybox sh -n: %v\n%s\n%s", err, out, script)
	}
	var last int
	for _, step := range []string{
		`echo 'HELLO '\''quoted'\'' marker'`,
		`insmod '/lib/modules/V/kernel/drivers/md/dm-mod.ko'`,
		`insmod '/lib/modules/V/kernel/drivers/md/dm-verity.ko'`,
		`'/bin/check' '--flag' 'it'\''s'`,
		`echo "initrd: exit status $?"`,
		`poweroff -f`,
	} {
		i := strings.Index(script, step)
		if i < last {
			t.Errorf("step %q missing or out of order in:\n%s", step, script)
			continue
		}
		last = i
	}
}

// TestReproducible builds twice and compares bytes.
func TestReproducible(t *testing.T) {
	s := hostSpec(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := WriteFile(a, s); err != nil {
		t.Fatal(err)
	}
	// Reversed extra files must not change the output.
	s.Files[0], s.Files[1] = s.Files[1], s.Files[0]
	if err := WriteFile(b, s); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Errorf("two builds differ (%d and %d bytes)", len(da), len(db))
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		s    Spec
	}{
		{"modules without dir", Spec{Busybox: "/dev/null", Modules: []string{"x"}}},
		{"missing busybox", Spec{Busybox: "/nonexistent/busybox"}},
		{"bad extra name", Spec{Busybox: os.Args[0], Files: []File{{Name: "../x"}}}},
		{"extra clashes with init", Spec{Busybox: os.Args[0], Files: []File{{Name: "init"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "initrd")
			if err := WriteFile(dst, tt.s); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Errorf("a file was left at the destination: %v", err)
			}
		})
	}
}
