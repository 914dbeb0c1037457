package pe

import "encoding/binary"

// On-disk layout constants from the Microsoft PE/COFF specification
// ("PE Format", sections "MS-DOS Stub", "COFF File Header", "Optional Header
// (Image Only)", "Section Table").
const (
	dosMagic          = "MZ"
	peSignature       = "PE\x00\x00"
	offsetLfanew      = 0x3c // e_lfanew: file offset of the PE signature
	sizeofFileHeader  = 20
	sizeofSectionHdr  = 40
	sizeofDataDirEnt  = 8
	sizeofSectionName = 8

	// Magic of the optional header.
	MagicPE32     = 0x10b
	MagicPE32Plus = 0x20b

	// Offsets inside the PE32+ optional header.
	optMagic                   = 0
	optSizeOfCode              = 4
	optSizeOfInitializedData   = 8
	optSectionAlignment        = 32
	optFileAlignment           = 36
	optSizeOfImage             = 56
	optSizeOfHeaders           = 60
	optCheckSum                = 64
	optNumberOfRvaAndSizes     = 108
	optDataDirectory           = 112
	sizeofOptionalHeader64Base = optDataDirectory

	// Offsets inside the COFF file header.
	fhNumberOfSections     = 2
	fhPointerToSymbolTable = 8
	fhNumberOfSymbols      = 12
	fhSizeOfOptionalHeader = 16

	// MaxSections is the PE/COFF limit on NumberOfSections for images.
	MaxSections = 96
)

// Data directory indexes.
const (
	IMAGE_DIRECTORY_ENTRY_SECURITY  = 4
	IMAGE_DIRECTORY_ENTRY_BASERELOC = 5
)

// Section characteristics (flags) used by UKIs.
const (
	IMAGE_SCN_CNT_CODE               = 0x00000020
	IMAGE_SCN_CNT_INITIALIZED_DATA   = 0x00000040
	IMAGE_SCN_CNT_UNINITIALIZED_DATA = 0x00000080
	IMAGE_SCN_MEM_DISCARDABLE        = 0x02000000
	IMAGE_SCN_MEM_EXECUTE            = 0x20000000
	IMAGE_SCN_MEM_READ               = 0x40000000
	IMAGE_SCN_MEM_WRITE              = 0x80000000
)

// SectionHeader is one 40-byte entry of the section table, with the spec's
// field names.
type SectionHeader struct {
	Name                 [sizeofSectionName]byte
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32
}

// NameString is the section name without its NUL padding.
func (h *SectionHeader) NameString() string {
	n := 0
	for n < len(h.Name) && h.Name[n] != 0 {
		n++
	}
	return string(h.Name[:n])
}

func (h *SectionHeader) marshal(b []byte) {
	copy(b[0:8], h.Name[:])
	le := binary.LittleEndian
	le.PutUint32(b[8:], h.VirtualSize)
	le.PutUint32(b[12:], h.VirtualAddress)
	le.PutUint32(b[16:], h.SizeOfRawData)
	le.PutUint32(b[20:], h.PointerToRawData)
	le.PutUint32(b[24:], h.PointerToRelocations)
	le.PutUint32(b[28:], h.PointerToLinenumbers)
	le.PutUint16(b[32:], h.NumberOfRelocations)
	le.PutUint16(b[34:], h.NumberOfLinenumbers)
	le.PutUint32(b[36:], h.Characteristics)
}

func (h *SectionHeader) unmarshal(b []byte) {
	copy(h.Name[:], b[0:8])
	le := binary.LittleEndian
	h.VirtualSize = le.Uint32(b[8:])
	h.VirtualAddress = le.Uint32(b[12:])
	h.SizeOfRawData = le.Uint32(b[16:])
	h.PointerToRawData = le.Uint32(b[20:])
	h.PointerToRelocations = le.Uint32(b[24:])
	h.PointerToLinenumbers = le.Uint32(b[28:])
	h.NumberOfRelocations = le.Uint16(b[32:])
	h.NumberOfLinenumbers = le.Uint16(b[34:])
	h.Characteristics = le.Uint32(b[36:])
}

// DataDirectory is one entry of the optional header's data directories.
type DataDirectory struct {
	VirtualAddress uint32 // for the security directory: a file offset
	Size           uint32
}

// AlignUp rounds n up to a multiple of align (a power of two, or any
// positive number).
func AlignUp(n, align int64) int64 {
	if align <= 1 {
		return n
	}
	return (n + align - 1) / align * align
}
