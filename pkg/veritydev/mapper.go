package veritydev

import (
	"fmt"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/dm"
	"golang.org/x/sys/unix"
)

// Mapper is what setting up a verity device needs of the kernel.
type Mapper interface {
	// Attach returns the device, as major:minor, that a table line names
	// for f: f's own when it is a block device, otherwise a read-only loop
	// device over it. release drops our hold on what Attach made; a device
	// that device-mapper uses stays until that device is removed.
	Attach(f *os.File, isBlock bool) (dev string, release func(), err error)
	// Create sets up device name with one read-only table, makes its node
	// and returns the node's path. On failure nothing is left behind.
	Create(name, uuid string, targets []dm.Target) (path string, err error)
	// Remove removes device name and the node Create made.
	Remove(name string) error
}

// Kernel is the real Mapper: device-mapper ioctls on /dev/mapper/control
// and loop devices (package dm).
type Kernel struct{}

// Attach uses a block device as it is and a file through a loop device
// attached with autoclear: once device-mapper holds it, releasing ours
// leaves it to device-mapper, and it goes when that device goes.
func (Kernel) Attach(f *os.File, isBlock bool) (string, func(), error) {
	if isBlock {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return "", nil, fmt.Errorf("stat %s: %w", f.Name(), err)
		}
		return dm.DevString(st.Rdev), func() {}, nil
	}
	l, err := dm.AttachLoop(f)
	if err != nil {
		return "", nil, err
	}
	return l.DevString(), func() { l.Close() }, nil
}

// Create creates, loads and resumes the device (removing it again if a
// step fails) and makes /dev/mapper/NAME.
func (Kernel) Create(name, uuid string, targets []dm.Target) (string, error) {
	ctl, err := dm.Open()
	if err != nil {
		return "", err
	}
	defer ctl.Close()
	dev, err := ctl.Setup(name, uuid, targets, true)
	if err != nil {
		return "", err
	}
	return dm.MakeNode(name, dev)
}

// Remove removes the device and the /dev/mapper node if we made it.
func (Kernel) Remove(name string) error {
	ctl, err := dm.Open()
	if err != nil {
		return err
	}
	defer ctl.Close()
	if err := ctl.RemoveDevice(name); err != nil {
		return err
	}
	return dm.RemoveNode(name)
}
