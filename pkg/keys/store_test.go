package keys

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeStore makes a temporary directory the only store directory for the
// test.
func fakeStore(t *testing.T) string {
	t.Helper()
	store := t.TempDir()
	old := StoreDirs
	StoreDirs = []string{store}
	t.Cleanup(func() { StoreDirs = old })
	t.Setenv("NIX_STORE_DIR", "")
	return store
}

func TestStoreKeyRefused(t *testing.T) {
	store := fakeStore(t)
	p, _ := writeKey(t, store, 0o600)
	if _, _, err := LoadPrivateKey(p); !errors.Is(err, ErrInStore) {
		t.Fatalf("err = %v", err)
	}
	// A symlink from outside into the store is refused too.
	link := filepath.Join(t.TempDir(), "link.pem")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadPrivateKey(link); !errors.Is(err, ErrInStore) {
		t.Fatalf("symlink: err = %v", err)
	}
	// So is a key reached through a symlink to the store's directory.
	dirLink := filepath.Join(t.TempDir(), "store")
	if err := os.Symlink(store, dirLink); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadPrivateKey(filepath.Join(dirLink, "key.pem")); !errors.Is(err, ErrInStore) {
		t.Fatalf("symlinked directory: err = %v", err)
	}
}

// Regression (issue 8): a hard link to a key in the store passed. Its other
// names cannot be found without searching the store, so a key file with
// more than one link on the store's filesystem is refused, wherever its
// other links are.
func TestHardLinkedKeyRefused(t *testing.T) {
	store := fakeStore(t)
	inStore, _ := writeKey(t, store, 0o600)
	outside := filepath.Join(t.TempDir(), "key.pem")
	if err := os.Link(inStore, outside); err != nil {
		t.Skipf("cannot hard link across these temporary directories: %v", err)
	}
	if _, _, err := LoadPrivateKey(outside); !errors.Is(err, ErrInStore) || !strings.Contains(err.Error(), "hard links") {
		t.Fatalf("hard link to a store key: %v", err)
	}
	// Two links, neither in the store: refused all the same (the store
	// shares their filesystem).
	dir := t.TempDir()
	a, _ := writeKey(t, dir, 0o600)
	if err := os.Link(a, filepath.Join(dir, "again.pem")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadPrivateKey(a); !errors.Is(err, ErrInStore) {
		t.Fatalf("key with two links: %v", err)
	}
}

// Regression (issue 8): a bind mount of the store, or of a directory inside
// it, let a store key through. Needs root to mount.
func TestBindMountedStoreRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	store := fakeStore(t)
	sub := filepath.Join(store, "0zyjz9fv6bmlhm33pngnlqjiapi17wpn-keys")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeKey(t, sub, 0o600)
	bind := func(src string) string {
		t.Helper()
		dst := t.TempDir()
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			t.Skipf("bind mount: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
		return dst
	}
	for _, tc := range []struct{ name, src, rel string }{
		{"the store", store, filepath.Join(filepath.Base(sub), "key.pem")},
		{"a store path", sub, "key.pem"},
	} {
		p := filepath.Join(bind(tc.src), tc.rel)
		if _, _, err := LoadPrivateKey(p); !errors.Is(err, ErrInStore) {
			t.Errorf("bind mount of %s: %v", tc.name, err)
		}
	}
	// A bind mount of a directory outside the store is fine.
	outside := t.TempDir()
	writeKey(t, outside, 0o600)
	if _, _, err := LoadPrivateKey(filepath.Join(bind(outside), "key.pem")); err != nil {
		t.Errorf("bind mount outside the store: %v", err)
	}
}

// A FIFO in place of the key is refused at once, not waited on.
func TestKeyNotRegularFile(t *testing.T) {
	fakeStore(t)
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := LoadPrivateKey(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadPrivateKey hangs on a FIFO")
	}
}

func TestMountTableFsPath(t *testing.T) {
	table := mountTable{
		{Dev: "254:0", Root: "/", Point: "/"},
		{Dev: "254:1", Root: "/", Point: "/nix"},
		{Dev: "254:1", Root: "/store", Point: "/nix/store"}, // NixOS's read-only self bind
		{Dev: "254:1", Root: "/store/abc-keys", Point: "/etc/secure boot"},
		{Dev: "0:42", Root: "/", Point: "/etc/secure boot"}, // mounted over it
		{Dev: "254:0", Root: "/home/a", Point: "/mnt/a"},
	}
	tests := []struct{ in, dev, path string }{
		{"/etc/passwd", "254:0", "/etc/passwd"},
		{"/nix/var/db", "254:1", "/var/db"},
		{"/nix/store/x-y/z", "254:1", "/store/x-y/z"},
		{"/nix/store", "254:1", "/store"},
		{"/etc/secure boot/db.key", "0:42", "/db.key"},
		{"/mnt/a", "254:0", "/home/a"},
		{"/mnt/ab", "254:0", "/mnt/ab"},
	}
	for _, tc := range tests {
		dev, path, ok := table.fsPath(tc.in)
		if !ok || dev != tc.dev || path != tc.path {
			t.Errorf("fsPath(%q) = %q %q %v, want %q %q", tc.in, dev, path, ok, tc.dev, tc.path)
		}
	}
}

func TestReadMountinfo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	data := "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		`46 27 254:0 /tmp/a\040b /mnt/x\011y\134z rw - ext4 /dev/vda rw` + "\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	table, err := readMountinfo(p)
	if err != nil || len(table) != 2 || table[1].Root != "/tmp/a b" || table[1].Point != "/mnt/x\ty\\z" {
		t.Fatalf("%q, %v", table, err)
	}
	if err := os.WriteFile(p, []byte("27 1 254:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readMountinfo(p); err == nil {
		t.Fatal("short line accepted")
	}
}
