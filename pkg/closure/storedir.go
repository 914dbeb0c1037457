package closure

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrSymlinkAboveStore reports a store directory that can only be reached
// through a symlink below the root. It is a verification failure, not a
// usage error: a store checked through a link that points elsewhere passes
// here while the system, once booted, resolves the same link to other files.
var ErrSymlinkAboveStore = errors.New("the store directory is reached through a symlink")

// openat2 is unix.Openat2, replaced in tests to run the fallback.
var openat2 = unix.Openat2

// openStoreDir opens root, then storeDir inside it without following any
// symlink on the way, and returns the store directory's descriptor; every
// store path is then opened from it.
//
// root itself is resolved as usual, symlinks included: it is the caller's
// choice (at boot, the directory the initrd mounted the system on). What
// lies below it is the checked filesystem's content, and is trusted no more
// than the store paths: a symlink there is ErrSymlinkAboveStore; no
// directory at all is ErrRoot.
func openStoreDir(root, storeDir string) (int, error) {
	rootFD, err := openAt(unix.AT_FDCWD, root, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, fmt.Errorf("%w: root %s: %w", ErrRoot, root, err)
	}
	defer unix.Close(rootFD)
	rel := strings.TrimPrefix(storeDir, "/")
	fd, err := openBeneath(rootFD, rel)
	if err == nil {
		return fd, nil
	}
	return -1, explainStoreDir(rootFD, root, rel, err)
}

// openBeneath opens the directory rel below dirfd, failing on any symlink:
// with openat2 and RESOLVE_NO_SYMLINKS (RESOLVE_IN_ROOT keeps even ".."
// inside), or, on kernels without openat2 (before 5.6), one component at a
// time with O_NOFOLLOW.
func openBeneath(dirfd int, rel string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := openat2(dirfd, rel, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN: // EAGAIN: a rename raced the lookup
			continue
		case unix.ENOSYS:
			return openComponents(dirfd, rel)
		}
		return -1, err
	}
}

func openComponents(dirfd int, rel string) (int, error) {
	fd, err := unix.Dup(dirfd)
	if err != nil {
		return -1, err
	}
	for _, name := range strings.Split(rel, "/") {
		next, err := openAt(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// explainStoreDir turns a failure to open rel below rootFD into an error
// naming the component at fault: a symlink, something not a directory, or
// nothing at all.
func explainStoreDir(rootFD int, root, rel string, openErr error) error {
	display := filepath.Join(root, rel)
	var st unix.Stat_t
	for i := range strings.Split(rel, "/") {
		prefix := strings.Join(strings.Split(rel, "/")[:i+1], "/")
		// Every component before this one is a real directory, so this
		// resolution follows no symlink.
		if err := unix.Fstatat(rootFD, prefix, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%w: no store directory %s (%s: %w)", ErrRoot, display, filepath.Join(root, prefix), err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			continue
		case unix.S_IFLNK:
			target := make([]byte, unix.PathMax)
			n, _ := unix.Readlinkat(rootFD, prefix, target)
			return fmt.Errorf("%w: %s is a symlink to %q; the store must be checked where the booted system will find it",
				ErrSymlinkAboveStore, filepath.Join(root, prefix), target[:max(n, 0)])
		default:
			return fmt.Errorf("%w: no store directory %s (%s is not a directory)", ErrRoot, display, filepath.Join(root, prefix))
		}
	}
	if openErr == unix.ELOOP {
		// A component became a symlink after the failed open.
		return fmt.Errorf("%w: %s: %w", ErrSymlinkAboveStore, display, openErr)
	}
	return fmt.Errorf("%w: store directory %s: %w", ErrRoot, display, openErr)
}

func openAt(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
