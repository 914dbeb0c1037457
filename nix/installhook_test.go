package nix

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// With closureCheck.fsverity the install hook runs the installer in a
// private mount namespace where the store (read-only on NixOS) is
// writable, leaving it read-only for everything else. The module's hook is
// run here with util-linux for real, against a read-only bind mount
// standing in for /nix/store, inside an outer namespace of the test's own
// so that nothing outside it changes; the installer is replaced by a
// command that writes into that store.
func TestInstallHookWritableStore(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mount namespaces and bind mounts need root")
	}
	unshare := peer.Tool(t, "unshare")
	mountpoint := peer.Tool(t, "mountpoint")
	peer.Tool(t, "mount")
	if exec.Command(mountpoint, "-q", "/").Run() != nil {
		// As in a plain chroot: unshare cannot make / private there, and
		// neither could the hook (on NixOS / is always a mount point).
		msg := "/ is not a mount point (a chroot without its own mount?), which a private mount namespace needs"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var side struct {
		InstallHook string `json:"installHook"`
	}
	data, err := os.ReadFile("testdata/module/fsverity.initrd.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &side); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	os.Mkdir(store, 0o755)
	hook := side.InstallHook
	hook = regexp.MustCompile(`/nix/store/[a-z0-9]{32}-util-linux-[^/]*/bin/`).ReplaceAllString(hook, filepath.Dir(unshare)+"/")
	hook = regexp.MustCompile(`exec /nix/store/\S+/bin/nix-uki install --config \S+ "\$@"`).ReplaceAllString(hook, `exec touch `+store+`/written`)
	hook = strings.ReplaceAll(hook, " /nix/store", " "+store)
	if strings.Contains(hook, "/nix/store") || !strings.Contains(hook, "unshare --mount") {
		t.Fatalf("hook not as expected:\n%s", hook)
	}
	script := filepath.Join(dir, "hook")
	if err := os.WriteFile(script, []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	outer := `set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
if touch "$1/before" 2>/dev/null; then echo "store writable before the hook"; exit 1; fi
"$2"
if touch "$1/after" 2>/dev/null; then echo "store writable after the hook"; exit 1; fi
echo ok`
	out, err := exec.Command(unshare, "--mount", "--propagation", "private", "--", "sh", "-c", outer, "sh", store, script).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("hook: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(store, "written")); err != nil {
		t.Errorf("the installer could not write to the store: %v", err)
	}
}
