package dm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// miscMajor is the major number of misc devices, which the control device is.
const miscMajor = 10

// makeControlNode creates /dev/mapper/control from the minor number the
// kernel lists in /proc/misc, for an initrd whose /dev is not devtmpfs.
func makeControlNode(path string) error {
	minor, err := miscMinor("device-mapper")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	err = unix.Mknod(path, unix.S_IFCHR|0o600, int(unix.Mkdev(miscMajor, minor)))
	if err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return nil
}

// miscMinor finds name in /proc/misc ("MINOR NAME" lines).
func miscMinor(name string) (uint32, error) {
	f, err := os.Open("/proc/misc")
	if err != nil {
		return 0, fmt.Errorf("%w: cannot read /proc/misc: %w", ErrNoDeviceMapper, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 2 && fields[1] == name {
			n, err := strconv.ParseUint(fields[0], 10, 32)
			if err != nil {
				break
			}
			return uint32(n), nil
		}
	}
	return 0, ErrNoDeviceMapper
}

// NodePath is /dev/mapper/NAME.
func NodePath(name string) string { return filepath.Join(DevDir, DM_DIR, name) }

// udevWait is how long to leave udev to make /dev/mapper/NAME before making
// it ourselves. A node we make works just as well (same device number), so
// this is short.
var udevWait = time.Second

// MakeNode makes sure /dev/mapper/NAME exists for the device number the
// kernel returned. Where udev runs it makes that node (a symlink to
// /dev/dm-N), so we wait for it; in an initrd without udev we create the
// block device node ourselves.
func MakeNode(name string, dev uint64) (string, error) {
	path := NodePath(name)
	if _, err := os.Stat("/run/udev/control"); err == nil {
		for deadline := time.Now().Add(udevWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(path); err == nil {
				return path, nil
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(unix.Major(dev), unix.Minor(dev))))
	if err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("creating %s: %w", path, err)
	}
	return path, nil
}

// RemoveNode removes /dev/mapper/NAME if it is a node we made (udev removes
// its own symlinks).
func RemoveNode(name string) error {
	path := NodePath(name)
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if fi.Mode()&os.ModeDevice == 0 {
		return nil
	}
	return os.Remove(path)
}
