package systemdpeer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// Tools of a version, by the name Run takes.
const (
	Measure = "systemd-measure"
	Ukify   = "ukify"
)

// Run runs a tool of the version (Measure, Ukify) with dir as its working
// directory, and returns its standard output; a failure fails the test
// with its standard error. Arguments naming files should be relative to
// dir: in a root, dir is bind-mounted inside it for the run, so that only
// what is in dir is seen. extraEnv is added to the environment.
func (v Version) Run(t testing.TB, dir string, extraEnv []string, tool string, args ...string) []byte {
	t.Helper()
	out, stderr, err := v.run(t, dir, extraEnv, tool, args...)
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", tool, v, strings.Join(args, " "), err, stderr)
	}
	return out
}

func (v Version) run(t testing.TB, dir string, extraEnv []string, tool string, args ...string) ([]byte, []byte, error) {
	t.Helper()
	var cmd *exec.Cmd
	switch {
	case v.HasRoot:
		cmd = v.chrootCommand(t, dir, tool, args)
	case tool == Measure:
		// Packages made for bookworm install into /lib, later ones into /usr/lib.
		cmd = exec.Command(v.file(t, "lib/systemd/systemd-measure", "usr/lib/systemd/systemd-measure"), args...)
		cmd.Dir = dir
		if v.Major != Host.Major {
			// The unpacked .deb's own libsystemd-shared, not the host's.
			cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+filepath.Join(v.tree(), "usr/lib/x86_64-linux-gnu/systemd"))
		}
	default:
		peer.Missing(t, "%s of systemd %s is not installed (scripts/systemd-versions pins no root for it)", tool, v)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// chrootCommand runs tool inside the version's root, with dir bind-mounted
// at a fresh directory of the root's /run, unmounted when the test ends.
func (v Version) chrootCommand(t testing.TB, dir, tool string, args []string) *exec.Cmd {
	t.Helper()
	root := v.Root()
	if b, err := os.ReadFile(filepath.Join(root, ".done")); err != nil || strings.TrimSpace(string(b)) != v.Debian {
		peer.Missing(t, "the %s root with systemd %s (scripts/deps-systemd): not in %s", v.Suite, v, root)
	}
	if os.Geteuid() != 0 {
		peer.Missing(t, "running systemd %s's %s needs root (chroot)", v, tool)
	}
	mnt, err := os.MkdirTemp(filepath.Join(root, "run"), "nbs-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", dir, mnt).CombinedOutput(); err != nil {
		os.Remove(mnt)
		t.Fatalf("bind-mounting %s into the %s root: %v\n%s", dir, v.Suite, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v\n%s", mnt, err, out)
			return
		}
		os.Remove(mnt)
	})
	path := map[string]string{Measure: "/usr/lib/systemd/systemd-measure", Ukify: "/usr/bin/ukify"}[tool]
	if path == "" {
		t.Fatalf("unknown tool %q", tool)
	}
	inside := "/" + strings.TrimPrefix(mnt, root+"/")
	sh := fmt.Sprintf("cd %s && exec \"$@\"", inside)
	cmd := exec.Command("chroot", append([]string{root, "/bin/sh", "-c", sh, "sh", path}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"}
	return cmd
}
