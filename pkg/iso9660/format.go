package iso9660

// ECMA-119 layout of the primary volume descriptor.
const (
	SectorSize = 2048
	// PVDOffset is the byte offset of the first volume descriptor.
	PVDOffset = 16 * SectorSize
	// MaxLabel is the size of the volume identifier field.
	MaxLabel = 32

	typePrimary       = 1
	standardID        = "CD001"
	volumeIDOffset    = 40
	creationOffset    = 813
	modifiedOffset    = 830
	dateDigits        = 16
	descriptorVersion = 1
)
