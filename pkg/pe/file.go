package pe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Errors callers branch on. Each is wrapped with the detail of what was
// found, so the message alone is a complete one-line explanation.
var (
	ErrNotPE        = errors.New("not a PE image")
	ErrTruncated    = errors.New("truncated PE image")
	ErrNotPE32Plus  = errors.New("not a PE32+ (64-bit) image")
	ErrOverlap      = errors.New("overlapping sections")
	ErrMalformed    = errors.New("malformed PE image")
	ErrSectionName  = errors.New("bad section name")
	ErrNoHeaderRoom = errors.New("no room to grow the PE headers")
	ErrTooLarge     = errors.New("image too large for PE32+ 32-bit fields")
)

// maxHeaderSize bounds how much of a hostile file is read as headers.
const maxHeaderSize = 1 << 24

// File is a parsed PE32+ image: its header bytes and section table. Section
// contents stay in the underlying io.ReaderAt until asked for.
type File struct {
	r    io.ReaderAt
	Size int64 // file size in bytes

	// Header holds the file's first SizeOfHeaders bytes.
	Header []byte

	PEOffset             int64 // e_lfanew
	Machine              uint16
	Characteristics      uint16
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
	OptionalHeaderOffset int64
	SizeOfOptionalHeader int64
	SectionTableOffset   int64

	Magic               uint16
	SectionAlignment    uint32
	FileAlignment       uint32
	SizeOfImage         uint32
	SizeOfHeaders       uint32
	CheckSum            uint32
	NumberOfRvaAndSizes uint32

	Sections []SectionHeader
}

// NewFile parses the headers and section table of the image in r, whose
// length is size. Every offset and size is checked against the file.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, Size: size}
	var magic [2]byte
	if n, _ := r.ReadAt(magic[:], 0); n < 2 || string(magic[:]) != dosMagic {
		return nil, fmt.Errorf("%w: no MZ signature", ErrNotPE)
	}
	if size < 0x40 {
		return nil, fmt.Errorf("%w: %d bytes, too short for an MS-DOS header", ErrTruncated, size)
	}
	head := make([]byte, min(size, 4096))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading PE headers: %w", err)
	}
	if string(head[:2]) != dosMagic {
		return nil, fmt.Errorf("%w: no MZ signature", ErrNotPE)
	}
	le := binary.LittleEndian
	f.PEOffset = int64(le.Uint32(head[offsetLfanew:]))
	fhOff := f.PEOffset + 4
	f.OptionalHeaderOffset = fhOff + sizeofFileHeader
	if f.OptionalHeaderOffset+2 > size {
		return nil, fmt.Errorf("%w: PE header at %#x is past the end of the file", ErrTruncated, f.PEOffset)
	}
	if f.OptionalHeaderOffset+2 > int64(len(head)) {
		return nil, fmt.Errorf("%w: PE header offset %#x is implausibly large", ErrMalformed, f.PEOffset)
	}
	if string(head[f.PEOffset:fhOff]) != peSignature {
		return nil, fmt.Errorf("%w: no PE signature at %#x", ErrNotPE, f.PEOffset)
	}
	fh := head[fhOff:]
	f.Machine = le.Uint16(fh[0:])
	nsec := int64(le.Uint16(fh[fhNumberOfSections:]))
	f.PointerToSymbolTable = le.Uint32(fh[fhPointerToSymbolTable:])
	f.NumberOfSymbols = le.Uint32(fh[fhNumberOfSymbols:])
	f.SizeOfOptionalHeader = int64(le.Uint16(fh[fhSizeOfOptionalHeader:]))
	f.Characteristics = le.Uint16(fh[18:])
	f.Magic = le.Uint16(head[f.OptionalHeaderOffset:])
	switch f.Magic {
	case MagicPE32Plus:
	case MagicPE32:
		return nil, fmt.Errorf("%w: it is PE32 (32-bit), only PE32+ is supported", ErrNotPE32Plus)
	default:
		return nil, fmt.Errorf("%w: optional header magic %#x", ErrNotPE32Plus, f.Magic)
	}
	if f.SizeOfOptionalHeader < sizeofOptionalHeader64Base {
		return nil, fmt.Errorf("%w: optional header is %d bytes, PE32+ needs at least %d", ErrMalformed, f.SizeOfOptionalHeader, sizeofOptionalHeader64Base)
	}
	if f.OptionalHeaderOffset+sizeofOptionalHeader64Base > int64(len(head)) {
		return nil, fmt.Errorf("%w: optional header past the end of the file", ErrTruncated)
	}
	oh := head[f.OptionalHeaderOffset:]
	f.SectionAlignment = le.Uint32(oh[optSectionAlignment:])
	f.FileAlignment = le.Uint32(oh[optFileAlignment:])
	f.SizeOfImage = le.Uint32(oh[optSizeOfImage:])
	f.SizeOfHeaders = le.Uint32(oh[optSizeOfHeaders:])
	f.CheckSum = le.Uint32(oh[optCheckSum:])
	f.NumberOfRvaAndSizes = le.Uint32(oh[optNumberOfRvaAndSizes:])
	if max := (f.SizeOfOptionalHeader - sizeofOptionalHeader64Base) / sizeofDataDirEnt; int64(f.NumberOfRvaAndSizes) > max {
		return nil, fmt.Errorf("%w: %d data directories do not fit in a %d-byte optional header", ErrMalformed, f.NumberOfRvaAndSizes, f.SizeOfOptionalHeader)
	}
	if !isPow2(f.FileAlignment) || !isPow2(f.SectionAlignment) {
		return nil, fmt.Errorf("%w: FileAlignment %#x and SectionAlignment %#x must be powers of two", ErrMalformed, f.FileAlignment, f.SectionAlignment)
	}
	if nsec > MaxSections {
		return nil, fmt.Errorf("%w: %d sections, the limit is %d", ErrMalformed, nsec, MaxSections)
	}
	f.SectionTableOffset = f.OptionalHeaderOffset + f.SizeOfOptionalHeader
	tableEnd := f.SectionTableOffset + nsec*sizeofSectionHdr
	if int64(f.SizeOfHeaders) < tableEnd {
		return nil, fmt.Errorf("%w: SizeOfHeaders %#x does not cover the section table (ends at %#x)", ErrMalformed, f.SizeOfHeaders, tableEnd)
	}
	if int64(f.SizeOfHeaders) > size {
		return nil, fmt.Errorf("%w: SizeOfHeaders %#x is past the end of the file (%d bytes)", ErrTruncated, f.SizeOfHeaders, size)
	}
	if f.SizeOfHeaders > maxHeaderSize {
		return nil, fmt.Errorf("%w: SizeOfHeaders %#x is implausibly large", ErrMalformed, f.SizeOfHeaders)
	}
	f.Header = make([]byte, f.SizeOfHeaders)
	if _, err := r.ReadAt(f.Header, 0); err != nil {
		return nil, fmt.Errorf("reading PE headers: %w", err)
	}
	f.Sections = make([]SectionHeader, nsec)
	for i := range f.Sections {
		off := f.SectionTableOffset + int64(i)*sizeofSectionHdr
		f.Sections[i].unmarshal(f.Header[off : off+sizeofSectionHdr])
	}
	if err := f.checkSections(); err != nil {
		return nil, err
	}
	return f, nil
}

func isPow2(n uint32) bool { return n != 0 && n&(n-1) == 0 }

// checkSections refuses sections whose data lies outside the file or
// overlaps the headers or another section, in the file or in memory.
func (f *File) checkSections() error {
	type span struct {
		start, end int64
		name       string
	}
	var raw, virt []span
	for i := range f.Sections {
		s := &f.Sections[i]
		name := s.NameString()
		if s.SizeOfRawData > 0 {
			start, end := int64(s.PointerToRawData), int64(s.PointerToRawData)+int64(s.SizeOfRawData)
			if end > f.Size {
				return fmt.Errorf("%w: section %s data [%#x, %#x) runs past the end of the file (%#x)", ErrTruncated, name, start, end, f.Size)
			}
			if start < int64(f.SizeOfHeaders) {
				return fmt.Errorf("%w: section %s data at %#x overlaps the headers (SizeOfHeaders %#x)", ErrOverlap, name, start, f.SizeOfHeaders)
			}
			raw = append(raw, span{start, end, name})
		}
		vsize := int64(s.VirtualSize)
		if vsize == 0 {
			vsize = int64(s.SizeOfRawData)
		}
		if vsize > 0 {
			virt = append(virt, span{int64(s.VirtualAddress), int64(s.VirtualAddress) + vsize, name})
		}
	}
	for _, set := range []struct {
		spans []span
		what  string
	}{{raw, "in the file"}, {virt, "in memory"}} {
		sort.Slice(set.spans, func(i, j int) bool { return set.spans[i].start < set.spans[j].start })
		for i := 1; i < len(set.spans); i++ {
			a, b := set.spans[i-1], set.spans[i]
			if b.start < a.end {
				return fmt.Errorf("%w: %s and %s overlap %s at %#x", ErrOverlap, a.name, b.name, set.what, b.start)
			}
		}
	}
	return nil
}

// ChecksumOffset is the file offset of OptionalHeader.CheckSum.
func (f *File) ChecksumOffset() int64 { return f.OptionalHeaderOffset + optCheckSum }

// DataDirectoryOffset is the file offset of data directory entry i, and
// whether the image has that entry at all.
func (f *File) DataDirectoryOffset(i int) (int64, bool) {
	if i < 0 || uint32(i) >= f.NumberOfRvaAndSizes {
		return 0, false
	}
	return f.OptionalHeaderOffset + optDataDirectory + int64(i)*sizeofDataDirEnt, true
}

// DataDirectory returns data directory entry i (zero when absent).
func (f *File) DataDirectory(i int) DataDirectory {
	off, ok := f.DataDirectoryOffset(i)
	if !ok {
		return DataDirectory{}
	}
	le := binary.LittleEndian
	return DataDirectory{le.Uint32(f.Header[off:]), le.Uint32(f.Header[off+4:])}
}

// CertificateTable returns the security directory, whose VirtualAddress is a
// file offset (PE/COFF "The Attribute Certificate Table"). It is checked to
// lie within the file.
func (f *File) CertificateTable() (DataDirectory, error) {
	d := f.DataDirectory(IMAGE_DIRECTORY_ENTRY_SECURITY)
	if d.VirtualAddress == 0 && d.Size == 0 {
		return d, nil
	}
	if int64(d.VirtualAddress)+int64(d.Size) > f.Size {
		return d, fmt.Errorf("%w: certificate table [%#x, +%#x) runs past the end of the file (%#x)", ErrTruncated, d.VirtualAddress, d.Size, f.Size)
	}
	if int64(d.VirtualAddress) < int64(f.SizeOfHeaders) {
		return d, fmt.Errorf("%w: certificate table at %#x lies inside the headers", ErrMalformed, d.VirtualAddress)
	}
	return d, nil
}

// Section returns the first section called name, or nil.
func (f *File) Section(name string) *SectionHeader {
	for i := range f.Sections {
		if f.Sections[i].NameString() == name {
			return &f.Sections[i]
		}
	}
	return nil
}

// SectionReader reads a section's contents as a loader sees them:
// VirtualSize bytes, of which those beyond SizeOfRawData are zeros. Only
// the part present in the file is returned; the rest is implicit.
func (f *File) SectionReader(s *SectionHeader) *io.SectionReader {
	n := int64(s.VirtualSize)
	if n == 0 || n > int64(s.SizeOfRawData) {
		n = int64(s.SizeOfRawData)
	}
	return io.NewSectionReader(f.r, int64(s.PointerToRawData), n)
}

// SectionData reads a section's contents (see SectionReader), refusing
// sections larger than limit bytes.
func (f *File) SectionData(s *SectionHeader, limit int64) ([]byte, error) {
	sr := f.SectionReader(s)
	if sr.Size() > limit {
		return nil, fmt.Errorf("section %s is %d bytes, more than the %d expected", s.NameString(), sr.Size(), limit)
	}
	b := make([]byte, sr.Size())
	if _, err := io.ReadFull(sr, b); err != nil {
		return nil, fmt.Errorf("reading section %s: %w", s.NameString(), err)
	}
	return b, nil
}

// ReaderAt is the image the File was parsed from.
func (f *File) ReaderAt() io.ReaderAt { return f.r }

// ValidSectionName checks a name for use in a section header: 1 to 8
// printable ASCII bytes, as systemd-stub only matches short names.
func ValidSectionName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrSectionName)
	}
	if len(name) > sizeofSectionName {
		return fmt.Errorf("%w: %q is %d bytes, the limit is 8", ErrSectionName, name, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' {
			return fmt.Errorf("%w: %q has a non-printable or non-ASCII byte", ErrSectionName, name)
		}
	}
	return nil
}
