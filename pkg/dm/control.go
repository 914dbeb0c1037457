package dm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// transport sends one ioctl with an in/out buffer. The real one is the
// control device; unit tests use a fake kernel.
type transport interface {
	ioctl(req uint, buf []byte) error
	Close() error
}

type fileTransport struct{ f *os.File }

func (t fileTransport) ioctl(req uint, buf []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, t.f.Fd(), uintptr(req), uintptr(unsafe.Pointer(&buf[0])))
	runtime.KeepAlive(buf)
	if errno != 0 {
		return errno
	}
	return nil
}

func (t fileTransport) Close() error { return t.f.Close() }

// Control is an open device-mapper control device.
type Control struct {
	t transport
}

// DevDir is where device nodes live; tests point it elsewhere.
var DevDir = "/dev"

// ControlPath is the control device, /dev/mapper/control.
func ControlPath() string { return filepath.Join(DevDir, DM_DIR, DM_CONTROL_NODE) }

// Open opens the control device and checks the interface version. In an
// initrd without udev it creates the node from /proc/misc when devtmpfs has
// not.
func Open() (*Control, error) {
	path := ControlPath()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if err = makeControlNode(path); err == nil {
			f, err = os.OpenFile(path, os.O_RDWR, 0)
		}
	}
	if err != nil {
		if errors.Is(err, ErrNoDeviceMapper) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return nil, fmt.Errorf("opening %s: %w", path, ErrNoDeviceMapper)
		}
		return nil, fmt.Errorf("opening device-mapper control: %w", err)
	}
	c := &Control{t: fileTransport{f}}
	if _, err := c.Version(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the control device.
func (c *Control) Close() error { return c.t.Close() }

// request is one ioctl: header, payload, and room for the kernel's answer.
type request struct {
	cmd     uint
	name    string
	hdr     DMIoctl
	payload []byte
	outRoom int
}

func (c *Control) do(r *request) (*DMIoctl, []byte, error) {
	size := SizeofDMIoctl + max(len(r.payload), r.outRoom)
	buf := make([]byte, size)
	r.hdr.Version = [3]uint32{DM_VERSION_MAJOR, DM_VERSION_MINOR, DM_VERSION_PATCHLEVEL}
	r.hdr.DataSize = uint32(size)
	r.hdr.DataStart = SizeofDMIoctl
	r.hdr.MarshalTo(buf)
	copy(buf[SizeofDMIoctl:], r.payload)
	err := c.t.ioctl(r.cmd, buf)
	var out DMIoctl
	if uerr := out.UnmarshalFrom(buf); uerr != nil {
		return nil, nil, uerr
	}
	if err != nil {
		return &out, nil, err
	}
	// What the kernel returned lies between DataStart and DataSize; both
	// are checked before slicing.
	start, end := int(out.DataStart), int(out.DataSize)
	if start < SizeofDMIoctl || start > end || end > len(buf) {
		start, end = len(buf), len(buf)
	}
	return &out, buf[start:end], nil
}

// Version returns the kernel's device-mapper interface version, refusing
// one whose major number is not 4.
func (c *Control) Version() ([3]uint32, error) {
	out, _, err := c.do(&request{cmd: DM_VERSION})
	if err != nil {
		if out != nil && errors.Is(err, unix.EINVAL) {
			return out.Version, fmt.Errorf("%w: kernel speaks %d.%d.%d", ErrVersion, out.Version[0], out.Version[1], out.Version[2])
		}
		return [3]uint32{}, fmt.Errorf("device-mapper version: %w", err)
	}
	if out.Version[0] != DM_VERSION_MAJOR {
		return out.Version, fmt.Errorf("%w: kernel speaks %d.%d.%d", ErrVersion, out.Version[0], out.Version[1], out.Version[2])
	}
	return out.Version, nil
}

// Targets lists the targets the kernel has registered (those of modules
// not loaded yet are missing).
func (c *Control) Targets() ([]TargetVersion, error) {
	out, data, err := c.do(&request{cmd: DM_LIST_VERSIONS, outRoom: 16 << 10})
	if err != nil {
		return nil, fmt.Errorf("listing device-mapper targets: %w", err)
	}
	if out.Flags&DM_BUFFER_FULL_FLAG != 0 {
		return nil, fmt.Errorf("listing device-mapper targets: list larger than 16 KiB")
	}
	return parseVersions(data)
}

// HasTarget says whether the kernel has target typ registered.
func (c *Control) HasTarget(typ string) (bool, error) {
	ts, err := c.Targets()
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.Name == typ {
			return true, nil
		}
	}
	return false, nil
}

// CreateDevice creates an empty device (no table yet) and returns its
// device number.
func (c *Control) CreateDevice(name, uuid string) (uint64, error) {
	r := &request{cmd: DM_DEV_CREATE}
	if err := r.hdr.setName(name); err != nil {
		return 0, err
	}
	if err := r.hdr.setUUID(uuid); err != nil {
		return 0, err
	}
	out, _, err := c.do(r)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return 0, fmt.Errorf("creating %s: %w", name, ErrExists)
		}
		return 0, fmt.Errorf("creating device-mapper device %s: %w", name, err)
	}
	return out.Dev, nil
}

// LoadTable loads targets as the inactive table of device name.
func (c *Control) LoadTable(name string, targets []Target, readOnly bool) error {
	payload, err := tablePayload(targets)
	if err != nil {
		return err
	}
	r := &request{cmd: DM_TABLE_LOAD, payload: payload}
	if err := r.hdr.setName(name); err != nil {
		return err
	}
	r.hdr.TargetCount = uint32(len(targets))
	if readOnly {
		r.hdr.Flags |= DM_READONLY_FLAG
	}
	if _, _, err := c.do(r); err != nil {
		if errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("loading table of %s: %w", name, ErrNotFound)
		}
		// The kernel logs why a table is refused; the common case here is
		// a target that is not there.
		for _, t := range targets {
			if ok, lerr := c.HasTarget(t.Type); lerr == nil && !ok {
				return fmt.Errorf("loading table of %s: %w: %q (load dm-%s)", name, ErrNoTarget, t.Type, t.Type)
			}
		}
		return fmt.Errorf("loading table of %s: %w (the kernel log says why)", name, err)
	}
	return nil
}

// Resume makes the loaded table live and returns the device number.
func (c *Control) Resume(name string) (uint64, error) {
	r := &request{cmd: DM_DEV_SUSPEND}
	if err := r.hdr.setName(name); err != nil {
		return 0, err
	}
	out, _, err := c.do(r)
	if err != nil {
		return 0, fmt.Errorf("resuming %s: %w", name, err)
	}
	return out.Dev, nil
}

// RemoveDevice removes device name.
func (c *Control) RemoveDevice(name string) error {
	r := &request{cmd: DM_DEV_REMOVE}
	if err := r.hdr.setName(name); err != nil {
		return err
	}
	if _, _, err := c.do(r); err != nil {
		switch {
		case errors.Is(err, unix.ENXIO):
			return fmt.Errorf("removing %s: %w", name, ErrNotFound)
		case errors.Is(err, unix.EBUSY):
			return fmt.Errorf("removing %s: device is in use", name)
		}
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

// Status returns the header the kernel reports for device name.
func (c *Control) Status(name string) (*DMIoctl, error) {
	r := &request{cmd: DM_DEV_STATUS}
	if err := r.hdr.setName(name); err != nil {
		return nil, err
	}
	out, _, err := c.do(r)
	if err != nil {
		if errors.Is(err, unix.ENXIO) {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("status of %s: %w", name, err)
	}
	return out, nil
}

// Setup creates device name with one table and resumes it, removing the
// device again if any step fails, so a failure leaves nothing behind.
func (c *Control) Setup(name, uuid string, targets []Target, readOnly bool) (dev uint64, err error) {
	if _, err := c.CreateDevice(name, uuid); err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			c.RemoveDevice(name)
		}
	}()
	if err := c.LoadTable(name, targets, readOnly); err != nil {
		return 0, err
	}
	return c.Resume(name)
}
