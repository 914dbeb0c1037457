package initrd

import (
	"errors"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeModulesDir(t *testing.T, dep, builtin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if builtin != "" {
		if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(builtin), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolveModules(t *testing.T) {
	// A modules.dep shaped like Debian's: each line names a module and all
	// it needs, transitively; each needed module has its own line.
	const dep = `kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko kernel/lib/reed_solomon/reed_solomon.ko
kernel/drivers/md/dm-bufio.ko:
kernel/drivers/md/dm-mod.ko:
kernel/lib/reed_solomon/reed_solomon.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
kernel/needs-builtin.ko: kernel/fs/ext4.ko
`
	const builtin = "kernel/fs/ext4.ko\nkernel/drivers/char/tpm/tpm.ko\n"
	dir := writeModulesDir(t, dep, builtin)
	tests := []struct {
		name    string
		in      []string
		want    string
		wantErr error
	}{
		{"none", nil, "", nil},
		{"dash or underscore", []string{"dm_verity"}, "dm_bufio dm_mod reed_solomon dm_verity", nil},
		{"with .ko", []string{"dm-verity.ko"}, "dm_bufio dm_mod reed_solomon dm_verity", nil},
		{"shared deps once", []string{"virtio_blk", "virtio_pci"}, "virtio_ring virtio virtio_blk virtio_pci", nil},
		{"already loaded earlier", []string{"virtio", "virtio_blk"}, "virtio_ring virtio virtio_blk", nil},
		{"builtin skipped", []string{"tpm", "needs-builtin"}, "needs_builtin", nil},
		{"missing", []string{"nosuch"}, "", ErrModuleNotFound},
		{"cycle", []string{"a"}, "", ErrModuleCycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mods, err := ResolveModules(dir, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			var names []string
			for _, m := range mods {
				names = append(names, m.Name)
			}
			if got := strings.Join(names, " "); got != tt.want {
				t.Errorf("order %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveModulesMalformed(t *testing.T) {
	tests := []struct{ name, dep string }{
		{"no colon", "kernel/x.ko\n"},
		{"escaping path", "../../etc/passwd:\n"},
		{"absolute path", "/etc/passwd:\n"},
		{"escaping dependency", "kernel/x.ko: ../y.ko\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeModulesDir(t, tt.dep, "")
			if _, err := ResolveModules(dir, []string{"x"}); !errors.Is(err, ErrModulesDep) {
				t.Errorf("got %v, want ErrModulesDep", err)
			}
		})
	}
	if _, err := ResolveModules(t.TempDir(), []string{"x"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing modules.dep: got %v", err)
	}
}

// TestResolveHostModules resolves against the modules of the kernel in
// /boot, the one the VM tests boot.
func TestResolveHostModules(t *testing.T) {
	_, version, err := FindKernel("/boot", DefaultModulesDir)
	if err != nil {
		peer.Missing(t, "%s missing: %v", "a kernel in /boot with its modules (linux-image-amd64)", err)
	}
	dir := filepath.Join(DefaultModulesDir, version)
	mods, err := ResolveModules(dir, []string{"dm-verity", "virtio_blk", "virtio_pci"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, err := os.Stat(filepath.Join(dir, m.Path)); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
		pos[m.Name] = i
	}
	for _, pair := range [][2]string{{"dm_mod", "dm_verity"}, {"dm_bufio", "dm_verity"}, {"virtio", "virtio_blk"}, {"virtio_ring", "virtio"}, {"virtio", "virtio_pci"}} {
		a, aok := pos[pair[0]]
		b, bok := pos[pair[1]]
		if !aok || !bok || a > b {
			t.Errorf("%s must be loaded before %s: %v", pair[0], pair[1], mods)
		}
	}
}
