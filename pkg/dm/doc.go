// Package dm talks to the Linux device-mapper directly, through ioctls on
// /dev/mapper/control (linux/dm-ioctl.h, interface version 4), and attaches
// files to loop devices (linux/loop.h), so that an initrd can set up a
// dm-verity device without libdevmapper, udev or veritysetup.
//
// It creates a device, loads one table (read-only), resumes it and makes
// /dev/mapper/NAME; it removes devices by name. It knows nothing of any
// target's parameters: callers build the table line (see package verity).
//
// Security: the table and names come from the caller, who is trusted; what
// the kernel returns (target lists, device numbers) is bounds-checked before
// use. Opening devices needs CAP_SYS_ADMIN; a kernel without device-mapper
// gives ErrNoDeviceMapper and a kernel without a target gives
// ErrNoTarget, each a one-line error instead of a hang.
package dm
