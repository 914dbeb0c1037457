package dm

import "errors"

// Errors callers branch on.
var (
	// ErrNoDeviceMapper: the kernel has no device-mapper (dm-mod not built
	// in or loaded), so there is no control device.
	ErrNoDeviceMapper = errors.New("no device-mapper in the kernel (load dm-mod)")
	// ErrNoTarget: the kernel has device-mapper but not the target a table
	// needs (for dm-verity: load dm-verity).
	ErrNoTarget = errors.New("device-mapper target not available")
	// ErrExists: a device of that name already exists.
	ErrExists = errors.New("device-mapper device already exists")
	// ErrNotFound: no device of that name.
	ErrNotFound = errors.New("no such device-mapper device")
	// ErrVersion: the kernel speaks another device-mapper interface.
	ErrVersion = errors.New("unsupported device-mapper interface version")
	// ErrNoLoop: the kernel has no loop device support.
	ErrNoLoop = errors.New("no loop device support in the kernel (load loop)")
)
