package dm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Loop is a read-only loop device backed by a file. It is attached with
// LO_FLAGS_AUTOCLEAR: the kernel detaches it when its last user closes it,
// so once device-mapper holds it, closing the Loop leaves it to the
// device-mapper device, and removing that frees the loop device too. If
// nothing else opened it, Close detaches it.
type Loop struct {
	Path string
	Dev  uint64
	f    *os.File
}

// AttachLoop attaches backing (opened read-only) to a free loop device.
func AttachLoop(backing *os.File) (*Loop, error) {
	ctl, err := os.OpenFile(filepath.Join(DevDir, "loop-control"), os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %w", ErrNoLoop, err)
		}
		return nil, fmt.Errorf("opening loop-control: %w", err)
	}
	defer ctl.Close()
	// Another process may take the free device between GET_FREE and
	// CONFIGURE; the kernel then says EBUSY and we ask again.
	for try := 0; try < 16; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("finding a free loop device: %w", err)
		}
		l, err := configure(n, backing)
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		return l, err
	}
	return nil, fmt.Errorf("finding a free loop device: all busy")
}

func configure(n int, backing *os.File) (*Loop, error) {
	path := filepath.Join(DevDir, fmt.Sprintf("loop%d", n))
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		// devtmpfs makes the node when the device is added; without it,
		// make it (loop devices are block major 7).
		if err = unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(7, uint32(n)))); err == nil || errors.Is(err, os.ErrExist) {
			f, err = os.OpenFile(path, os.O_RDONLY, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	cfg.Info.Flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR
	copy(cfg.Info.File_name[:LO_NAME_SIZE-1], backing.Name())
	err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
		// Kernels before 5.8 have no LOOP_CONFIGURE.
		if err = unix.IoctlSetInt(int(f.Fd()), LOOP_SET_FD, int(backing.Fd())); err == nil {
			if err = unix.IoctlLoopSetStatus64(int(f.Fd()), &cfg.Info); err != nil {
				unix.IoctlSetInt(int(f.Fd()), LOOP_CLR_FD, 0)
			}
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EBUSY) {
			return nil, err
		}
		return nil, fmt.Errorf("attaching %s to %s: %w", backing.Name(), path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	return &Loop{Path: path, Dev: st.Rdev, f: f}, nil
}

// File is the open loop device.
func (l *Loop) File() *os.File { return l.f }

// DevString is the device as major:minor, the form table lines use.
func (l *Loop) DevString() string { return DevString(l.Dev) }

// Close drops our reference; the kernel detaches the loop device when no
// one else holds it.
func (l *Loop) Close() error { return l.f.Close() }

// DevString formats a device number as major:minor.
func DevString(dev uint64) string {
	return fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev))
}
