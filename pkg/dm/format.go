package dm

// Constants and layouts of linux/dm-ioctl.h (interface version 4) and
// linux/loop.h, with the kernel's names.
const (
	DM_VERSION_MAJOR      = 4
	DM_VERSION_MINOR      = 0 // the oldest minor we need; the kernel answers with its own
	DM_VERSION_PATCHLEVEL = 0

	DM_NAME_LEN      = 128
	DM_UUID_LEN      = 129
	DM_MAX_TYPE_NAME = 16

	DM_DIR          = "mapper"
	DM_CONTROL_NODE = "control"

	// DM_IOCTL is the ioctl type byte of device-mapper.
	DM_IOCTL = 0xfd
)

// Command numbers (enum of DM_*_CMD).
const (
	DM_VERSION_CMD       = 0
	DM_REMOVE_ALL_CMD    = 1
	DM_LIST_DEVICES_CMD  = 2
	DM_DEV_CREATE_CMD    = 3
	DM_DEV_REMOVE_CMD    = 4
	DM_DEV_RENAME_CMD    = 5
	DM_DEV_SUSPEND_CMD   = 6
	DM_DEV_STATUS_CMD    = 7
	DM_DEV_WAIT_CMD      = 8
	DM_TABLE_LOAD_CMD    = 9
	DM_TABLE_CLEAR_CMD   = 10
	DM_TABLE_DEPS_CMD    = 11
	DM_TABLE_STATUS_CMD  = 12
	DM_LIST_VERSIONS_CMD = 13
)

// Flags of struct dm_ioctl.
const (
	DM_READONLY_FLAG         = 1 << 0
	DM_SUSPEND_FLAG          = 1 << 1
	DM_PERSISTENT_DEV_FLAG   = 1 << 3
	DM_STATUS_TABLE_FLAG     = 1 << 4
	DM_ACTIVE_PRESENT_FLAG   = 1 << 5
	DM_INACTIVE_PRESENT_FLAG = 1 << 6
	DM_BUFFER_FULL_FLAG      = 1 << 8
	DM_SKIP_BDGET_FLAG       = 1 << 9
	DM_SKIP_LOCKFS_FLAG      = 1 << 10
	DM_NOFLUSH_FLAG          = 1 << 11
	DM_UEVENT_GENERATED_FLAG = 1 << 13
	DM_UUID_FLAG             = 1 << 14
	DM_SECURE_DATA_FLAG      = 1 << 15
	DM_DATA_OUT_FLAG         = 1 << 16
)

// Sizes of the kernel structures on every architecture (they hold no
// pointers and are laid out without implicit padding).
const (
	SizeofDMIoctl          = 312
	SizeofDMTargetSpec     = 40
	SizeofDMTargetVersions = 16
)

// DMIoctl is struct dm_ioctl, the header of every device-mapper ioctl. The
// payload (table, target list) follows at DataStart; DataSize counts both.
type DMIoctl struct {
	Version     [3]uint32 // in: the interface version we speak; out: the kernel's
	DataSize    uint32    // total size of the buffer, header included
	DataStart   uint32    // offset of the payload from the start of the header
	TargetCount uint32    // in: targets in a table load; out: in the active table
	OpenCount   int32     // out
	Flags       uint32    // in/out: DM_*_FLAG
	EventNr     uint32    // in/out: udev cookie or event number
	Padding     uint32
	Dev         uint64 // out: huge_encode_dev of the device number
	Name        [DM_NAME_LEN]byte
	UUID        [DM_UUID_LEN]byte
	Data        [7]byte // padding, or the start of a small payload
}

// Byte offsets of the fields of struct dm_ioctl.
const (
	offVersion     = 0
	offDataSize    = 12
	offDataStart   = 16
	offTargetCount = 20
	offOpenCount   = 24
	offFlags       = 28
	offEventNr     = 32
	offPadding     = 36
	offDev         = 40
	offName        = 48
	offUUID        = 176
	offData        = 305
)

// DMTargetSpec is struct dm_target_spec, one target of a table; its
// NUL-terminated parameter string follows it, and Next is the offset from
// this spec to the next one.
type DMTargetSpec struct {
	SectorStart uint64
	Length      uint64
	Status      int32
	Next        uint32
	TargetType  [DM_MAX_TYPE_NAME]byte
}

// _IOWR(DM_IOCTL, cmd, struct dm_ioctl): direction read|write (3) in bits
// 30-31, size in bits 16-29, type in bits 8-15, number in bits 0-7.
func dmRequest(cmd uint) uint {
	return 3<<30 | SizeofDMIoctl<<16 | DM_IOCTL<<8 | cmd
}

// Ioctl request numbers.
var (
	DM_VERSION       = dmRequest(DM_VERSION_CMD)
	DM_DEV_CREATE    = dmRequest(DM_DEV_CREATE_CMD)
	DM_DEV_REMOVE    = dmRequest(DM_DEV_REMOVE_CMD)
	DM_DEV_SUSPEND   = dmRequest(DM_DEV_SUSPEND_CMD)
	DM_DEV_STATUS    = dmRequest(DM_DEV_STATUS_CMD)
	DM_TABLE_LOAD    = dmRequest(DM_TABLE_LOAD_CMD)
	DM_TABLE_STATUS  = dmRequest(DM_TABLE_STATUS_CMD)
	DM_LIST_VERSIONS = dmRequest(DM_LIST_VERSIONS_CMD)
)

// Loop device constants (linux/loop.h).
const (
	LOOP_SET_FD        = 0x4C00
	LOOP_CLR_FD        = 0x4C01
	LOOP_SET_STATUS64  = 0x4C04
	LOOP_GET_STATUS64  = 0x4C05
	LOOP_CONFIGURE     = 0x4C0A
	LOOP_CTL_GET_FREE  = 0x4C82
	LO_FLAGS_READ_ONLY = 1
	LO_FLAGS_AUTOCLEAR = 4
	LO_NAME_SIZE       = 64
)
