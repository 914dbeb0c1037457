package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrInStore is returned for a private key stored under a Nix store directory.
var ErrInStore = errors.New("private key is in the Nix store, which is world-readable; keep it outside /nix/store")

// StoreDirs are the directories a private key may never be read from. A
// test may change it; NIX_STORE_DIR, when set, is added.
var StoreDirs = []string{"/nix/store"}

// mountinfoPath is where the mount table is read from (a test may change it).
var mountinfoPath = "/proc/self/mountinfo"

// refuseStoreKey fails with ErrInStore when the opened key file f, named
// path, can be reached inside a store directory. A path is not enough: the
// store can be reached through a symlink, a bind mount of the store or of
// one of its directories, or a hard link. So it checks:
//
//   - the name given and the file's real path (as the kernel names the
//     open file) against each store directory and its resolved path;
//   - the device and inode of every parent directory of the real path
//     against the store directory's (a bind mount of the store itself);
//   - the real path translated, through the mount table, into a path on
//     its filesystem, against the store's (a bind mount of a directory
//     inside the store);
//   - a file with more than one link on the store's filesystem: its other
//     names cannot be found without searching the store, so it is refused
//     (copy a key, never link it).
func refuseStoreKey(path string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no device and inode numbers", path)
	}
	real, err := openedPath(f)
	if err != nil || !filepath.IsAbs(real) {
		// No /proc: resolve the name instead.
		if real, err = filepath.EvalSymlinks(path); err != nil {
			return fmt.Errorf("resolving %s: %w", path, err)
		}
		if real, err = filepath.Abs(real); err != nil {
			return fmt.Errorf("resolving %s: %w", path, err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", path, err)
	}
	dirs := StoreDirs
	if d := os.Getenv("NIX_STORE_DIR"); d != "" {
		dirs = append(append([]string(nil), dirs...), d)
	}
	mounts, mountsErr := readMountinfo(mountinfoPath)
	for _, d := range dirs {
		d = filepath.Clean(d)
		store := []string{d}
		if r, err := filepath.EvalSymlinks(d); err == nil && r != d {
			store = append(store, r)
		}
		for _, s := range store {
			if within(abs, s) || within(real, s) {
				return fmt.Errorf("%s: %w", path, ErrInStore)
			}
		}
		var sst unix.Stat_t
		if err := unix.Stat(d, &sst); err != nil {
			continue // no store here: nothing to reach it through
		}
		if sameDirAbove(real, sst) {
			return fmt.Errorf("%s (through a mount of the store at %s): %w", path, filepath.Dir(real), ErrInStore)
		}
		if st.Nlink > 1 && st.Dev == sst.Dev {
			return fmt.Errorf("%s has %d hard links on the store's filesystem, so it may also be in the store (copy the key rather than link it): %w", path, st.Nlink, ErrInStore)
		}
		if mountsErr != nil {
			continue // no mount table: the checks above are what is possible
		}
		keyDev, keyPath, ok1 := mounts.fsPath(real)
		storeDev, storePath, ok2 := mounts.fsPath(store[len(store)-1])
		if ok1 && ok2 && keyDev == storeDev && within(keyPath, storePath) {
			return fmt.Errorf("%s (a bind mount of %s, inside the store): %w", path, keyPath, ErrInStore)
		}
		// In a chroot the mount table names a mount's root from the
		// filesystem's top, which may lie above our root ("/chroot/nix/
		// store/x" for our /nix/store/x), and the mount holding the store may
		// not be listed at all. So a mount on the store's device whose root
		// has the store's path in it, at a component boundary, counts too.
		if ok1 && keyDev == devString(sst.Dev) && containsDir(keyPath, store[len(store)-1]) {
			return fmt.Errorf("%s (a bind mount of %s, inside the store): %w", path, keyPath, ErrInStore)
		}
	}
	return nil
}

// openedPath is the path the kernel gives the open file f (without
// changing the descriptor's mode, as f.Fd would).
func openedPath(f *os.File) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	var p string
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		p, rerr = os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	}); err != nil {
		return "", err
	}
	return p, rerr
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/") || dir == "/"
}

// containsDir reports whether p has the absolute path dir in it followed by
// "/" or its end: p is dir, or below dir, possibly under a prefix.
func containsDir(p, dir string) bool {
	for i := 0; i <= len(p)-len(dir); i++ {
		if strings.HasPrefix(p[i:], dir) && (len(p) == i+len(dir) || p[i+len(dir)] == '/') {
			return true
		}
	}
	return false
}

// devString writes a device number as the mount table does (major:minor).
func devString(dev uint64) string {
	return fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev))
}

// sameDirAbove reports whether a directory above real (absolute, without
// symlinks) is the directory described by st.
func sameDirAbove(real string, st unix.Stat_t) bool {
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		var d unix.Stat_t
		if unix.Stat(dir, &d) == nil && d.Dev == st.Dev && d.Ino == st.Ino {
			return true
		}
		if dir == "/" {
			return false
		}
	}
}

// RefuseInStore applies the store guard LoadPrivateKey applies to its key
// file to another secret opened as f and named path (a token's PIN file,
// a TPM key blob): ErrInStore when it can be reached inside a store.
func RefuseInStore(path string, f *os.File) error {
	return refuseStoreKey(path, f)
}
