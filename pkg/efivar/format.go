package efivar

import "encoding/binary"

// Variable attributes (UEFI 2.10 section 8.2, GetVariable).
const (
	EFI_VARIABLE_NON_VOLATILE                          = 0x00000001
	EFI_VARIABLE_BOOTSERVICE_ACCESS                    = 0x00000002
	EFI_VARIABLE_RUNTIME_ACCESS                        = 0x00000004
	EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS = 0x00000020
	EFI_VARIABLE_APPEND_WRITE                          = 0x00000040
)

// secureBootAttributes are the attributes PK, KEK, db and dbx are written
// with: firmware refuses a write to them with any other set.
const secureBootAttributes = EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS |
	EFI_VARIABLE_RUNTIME_ACCESS | EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS

// Vendor GUIDs of the Secure Boot variables and the types of signature
// list and of WIN_CERTIFICATE_UEFI_GUID they use (section 32.4.1 and 8.2).
var (
	EFI_GLOBAL_VARIABLE              = makeGUID(0x8be4df61, 0x93ca, 0x11d2, [8]byte{0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c})
	EFI_IMAGE_SECURITY_DATABASE_GUID = makeGUID(0xd719b2cb, 0x3d3a, 0x4596, [8]byte{0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f})

	EFI_CERT_X509_GUID   = makeGUID(0xa5c059a1, 0x94e4, 0x4aa7, [8]byte{0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72})
	EFI_CERT_SHA256_GUID = makeGUID(0xc1c41626, 0x504c, 0x4092, [8]byte{0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28})

	EFI_CERT_TYPE_PKCS7_GUID = makeGUID(0x4aafd29d, 0x68df, 0x49ee, [8]byte{0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7})
)

// The Secure Boot key variables (section 32.3.1, 32.4.1).
var (
	PK  = Variable{Name: "PK", GUID: EFI_GLOBAL_VARIABLE, Attributes: secureBootAttributes}
	KEK = Variable{Name: "KEK", GUID: EFI_GLOBAL_VARIABLE, Attributes: secureBootAttributes}
	DB  = Variable{Name: "db", GUID: EFI_IMAGE_SECURITY_DATABASE_GUID, Attributes: secureBootAttributes}
	DBX = Variable{Name: "dbx", GUID: EFI_IMAGE_SECURITY_DATABASE_GUID, Attributes: secureBootAttributes}
)

// Read-only status variables in EFI_GLOBAL_VARIABLE (section 3.3).
var (
	SecureBoot = Variable{Name: "SecureBoot", GUID: EFI_GLOBAL_VARIABLE,
		Attributes: EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS}
	SetupMode = Variable{Name: "SetupMode", GUID: EFI_GLOBAL_VARIABLE,
		Attributes: EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS}
)

// EFI_SIGNATURE_LIST header: SignatureType (GUID), SignatureListSize,
// SignatureHeaderSize, SignatureSize (UINT32 each), then the header and
// the EFI_SIGNATURE_DATA entries (SignatureOwner GUID, SignatureData).
const (
	signatureListHeaderSize = 16 + 4 + 4 + 4
	signatureOwnerSize      = 16
)

// WIN_CERTIFICATE_UEFI_GUID (section 32.2.4): dwLength, wRevision,
// wCertificateType, CertType GUID, then CertData.
const (
	WIN_CERT_REVISION_2_0   = 0x0200
	WIN_CERT_TYPE_EFI_GUID  = 0x0EF1
	winCertUEFIGUIDHeaderSz = 4 + 2 + 2 + 16
)

// efiTimeSize is sizeof(EFI_TIME): Year (UINT16), Month, Day, Hour,
// Minute, Second, Pad1 (UINT8), Nanosecond (UINT32), TimeZone (INT16),
// Daylight, Pad2 (UINT8).
const efiTimeSize = 16

var le = binary.LittleEndian
