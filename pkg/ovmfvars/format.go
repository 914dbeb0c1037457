package ovmfvars

import (
	"encoding/binary"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// Firmware volume header (EFI_FIRMWARE_VOLUME_HEADER, PI volume 3 section
// 3.2.1): ZeroVector[16], FileSystemGuid, FvLength UINT64, Signature
// "_FVH", Attributes UINT32, HeaderLength UINT16, Checksum UINT16,
// ExtHeaderOffset UINT16, Reserved, Revision, then the block map.
const (
	fvFileSystemGUIDOffset = 16
	fvLengthOffset         = 32
	fvSignatureOffset      = 40
	fvHeaderLengthOffset   = 48
	fvMinHeaderLength      = 0x48 // with a block map of one entry and its terminator
	fvSignature            = "_FVH"
)

// VARIABLE_STORE_HEADER: Signature GUID, Size UINT32 (the store with
// this header), Format, State, Reserved UINT16, Reserved1 UINT32.
const (
	storeHeaderSize          = 28
	VARIABLE_STORE_FORMATTED = 0x5A
	VARIABLE_STORE_HEALTHY   = 0xFE
)

// AUTHENTICATED_VARIABLE_HEADER: StartId UINT16, State, Reserved,
// Attributes UINT32, MonotonicCount UINT64, TimeStamp EFI_TIME,
// PubKeyIndex UINT32, NameSize UINT32, DataSize UINT32, VendorGuid; then
// the UCS-2 name with its NUL and the data (no padding between them on
// x86, where edk2's GET_PAD_SIZE is 0); the next header starts on a
// 4-byte boundary (HEADER_ALIGNMENT).
const (
	VARIABLE_DATA             = 0x55AA
	variableHeaderSize        = 60
	headerAlignment           = 4
	VAR_HEADER_VALID_ONLY     = 0x7F
	VAR_ADDED                 = 0x3F
	VAR_IN_DELETED_TRANSITION = 0x3E // VAR_ADDED & ~0x01
	erasedByte                = 0xFF
)

// MaxFileSize bounds what Open reads: OVMF's stores are 128 KiB to 4 MiB.
const MaxFileSize = 64 << 20

var (
	// EFI_SYSTEM_NV_DATA_FV_GUID, the FileSystemGuid of a variable volume.
	EFI_SYSTEM_NV_DATA_FV_GUID = efivar.GUID{0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50} // fff12b8d-7696-4c8b-a985-2747075b4f50
	// EFI_AUTHENTICATED_VARIABLE_GUID, the signature of a store whose
	// headers carry MonotonicCount, TimeStamp and PubKeyIndex.
	EFI_AUTHENTICATED_VARIABLE_GUID = efivar.GUID{0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92} // aaf32c78-947b-439a-a180-2e144ec37792
	// EFI_VARIABLE_GUID, the signature of a store without them (not
	// supported: OVMF built with Secure Boot always uses the other).
	EFI_VARIABLE_GUID = efivar.GUID{0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41, 0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d} // ddcf3616-3275-4164-98b6-fe85707ffe7d
	// SHIM_LOCK_GUID, the vendor GUID of shim's variables (MokList,
	// SHIM_VERBOSE ...).
	SHIM_LOCK_GUID = efivar.GUID{0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43, 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23} // 605dab50-e046-4300-abb6-3dd810dd8b23
)

var le = binary.LittleEndian
