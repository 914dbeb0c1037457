package pe

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
)

// Appender lays out a new image made of a base image's sections (kept
// where their code expects them in memory) followed by appended sections,
// the way ukify lays out a UKI: each appended section starts at the end of
// the file rounded up to FileAlignment and at the end of the previous
// section in memory rounded up to SectionAlignment, and its VirtualSize is
// the exact data length.
//
// Unlike ukify, a full section table is not an error: the headers grow and
// the base image's section data moves down in the file (its addresses in
// memory stay the same). The base image's COFF symbol table and anything
// else after its last section is left out.
type Appender struct {
	base    *File
	data    []byte
	removed map[string]bool
	added   []SectionHeader
}

// NewAppender starts from base, an image held in memory (a stub is small).
// base must not be signed: a signature would not survive the change.
func NewAppender(base []byte) (*Appender, error) {
	f, err := NewFile(memReaderAt(base), int64(len(base)))
	if err != nil {
		return nil, err
	}
	// Layout allocates headers and sections rounded up to FileAlignment:
	// a hostile 2^31 would cost gigabytes for a few KiB of stub.
	if f.FileAlignment > maxFileAlignment {
		return nil, fmt.Errorf("%w: FileAlignment %#x is above the 64 KiB PE/COFF allows", ErrMalformed, f.FileAlignment)
	}
	return &Appender{base: f, data: base, removed: map[string]bool{}}, nil
}

// Base is the parsed base image.
func (a *Appender) Base() *File { return a.base }

// Remove leaves the base image's sections called name out of the result
// (a UKI replaces the stub's .sbat with a merged one).
func (a *Appender) Remove(name string) { a.removed[name] = true }

// Append adds a section of size bytes with the given characteristics.
func (a *Appender) Append(name string, size int64, characteristics uint32) error {
	if err := ValidSectionName(name); err != nil {
		return err
	}
	if size < 0 || size > math.MaxUint32 {
		return fmt.Errorf("%w: section %s is %d bytes", ErrTooLarge, name, size)
	}
	var h SectionHeader
	copy(h.Name[:], name)
	h.VirtualSize = uint32(size)
	h.Characteristics = characteristics
	a.added = append(a.added, h)
	return nil
}

// Placement is where one section's data goes in the output file.
type Placement struct {
	Header SectionHeader
	// Base holds the contents of a section kept from the base image
	// (SizeOfRawData bytes, padding included); nil for appended sections.
	Base []byte
	// Appended is the index, in Append order, of an appended section, or -1.
	Appended int
}

// Layout is the result: the complete header block and, in file order, the
// sections that follow it. Sections are contiguous, so the file is exactly
// len(Header) + the sum of the SizeOfRawData of Sections; each section's
// data is followed by zeros up to its SizeOfRawData.
type Layout struct {
	Header   []byte
	Sections []Placement
	// ChecksumOffset and CertDirOffset locate the two header fields that
	// signing changes and the Authenticode hash skips; CertDirOffset is -1
	// when the image has no security directory entry.
	ChecksumOffset int64
	CertDirOffset  int64
}

// Size is the length of the laid-out file.
func (l *Layout) Size() int64 {
	n := int64(len(l.Header))
	for _, p := range l.Sections {
		n += int64(p.Header.SizeOfRawData)
	}
	return n
}

// Layout computes headers and placements. CheckSum and the certificate
// table entry are left zero: the caller fills them in once the file is
// complete.
func (a *Appender) Layout() (*Layout, error) {
	f := a.base
	le := binary.LittleEndian
	fileAlign, sectAlign := int64(f.FileAlignment), int64(f.SectionAlignment)

	var kept []SectionHeader
	for _, s := range f.Sections {
		if !a.removed[s.NameString()] {
			kept = append(kept, s)
		}
	}
	n := len(kept) + len(a.added)
	if n > MaxSections {
		return nil, fmt.Errorf("%w: %d sections, the limit is %d", ErrMalformed, n, MaxSections)
	}

	// Headers: grow when the section table no longer fits. They are
	// mapped at RVA 0, so they must end before the first section in memory.
	tableEnd := f.SectionTableOffset + int64(n)*sizeofSectionHdr
	sizeOfHeaders := max(int64(f.SizeOfHeaders), AlignUp(tableEnd, fileAlign))
	firstVA := int64(math.MaxInt64)
	for _, s := range kept {
		firstVA = min(firstVA, int64(s.VirtualAddress))
	}
	if sizeOfHeaders > firstVA {
		return nil, fmt.Errorf("%w: %d section headers need %#x bytes of headers, but the first section is mapped at %#x", ErrNoHeaderRoom, n, sizeOfHeaders, firstVA)
	}
	for i := 0; i < int(f.NumberOfRvaAndSizes); i++ {
		d := f.DataDirectory(i)
		if i == IMAGE_DIRECTORY_ENTRY_SECURITY || d.Size == 0 {
			continue
		}
		if int64(d.VirtualAddress) < sizeOfHeaders && int64(d.VirtualAddress)+int64(d.Size) > f.SectionTableOffset {
			return nil, fmt.Errorf("%w: data directory %d lives in the header space after the section table", ErrNoHeaderRoom, i)
		}
	}

	hdr := make([]byte, sizeOfHeaders)
	copy(hdr, f.Header[:f.SectionTableOffset])

	// Base sections keep their addresses in memory and are packed in file
	// order right after the headers.
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].PointerToRawData < kept[j].PointerToRawData })
	var out []Placement
	fileEnd := sizeOfHeaders
	var vaEnd int64
	for _, s := range kept {
		vaEnd = max(vaEnd, int64(s.VirtualAddress)+int64(max(s.VirtualSize, s.SizeOfRawData)))
		p := Placement{Header: s, Appended: -1}
		if s.SizeOfRawData > 0 {
			rawSize := AlignUp(int64(s.SizeOfRawData), fileAlign)
			p.Base = make([]byte, rawSize)
			copy(p.Base, a.data[s.PointerToRawData:int64(s.PointerToRawData)+int64(s.SizeOfRawData)])
			p.Header.PointerToRawData = uint32(fileEnd)
			p.Header.SizeOfRawData = uint32(rawSize)
			fileEnd += rawSize
		} else {
			p.Header.PointerToRawData = 0
		}
		out = append(out, p)
	}

	sizeOfCode := int64(le.Uint32(hdr[f.OptionalHeaderOffset+optSizeOfCode:]))
	sizeOfData := int64(le.Uint32(hdr[f.OptionalHeaderOffset+optSizeOfInitializedData:]))
	for i, h := range a.added {
		h.VirtualAddress = uint32(AlignUp(vaEnd, sectAlign))
		raw := AlignUp(int64(h.VirtualSize), fileAlign)
		h.SizeOfRawData = uint32(raw)
		if raw > 0 {
			h.PointerToRawData = uint32(fileEnd)
		}
		vaEnd = int64(h.VirtualAddress) + int64(h.VirtualSize)
		fileEnd += raw
		if h.Characteristics&IMAGE_SCN_CNT_CODE != 0 {
			sizeOfCode += int64(h.VirtualSize)
		} else {
			sizeOfData += int64(h.VirtualSize)
		}
		if vaEnd > math.MaxUint32 || fileEnd > math.MaxUint32 || sizeOfCode > math.MaxUint32 || sizeOfData > math.MaxUint32 {
			return nil, fmt.Errorf("%w: the image would exceed 4 GiB", ErrTooLarge)
		}
		out = append(out, Placement{Header: h, Appended: i})
	}
	sizeOfImage := AlignUp(vaEnd, sectAlign)
	if sizeOfImage > math.MaxUint32 {
		return nil, fmt.Errorf("%w: the image would exceed 4 GiB in memory", ErrTooLarge)
	}

	fh := hdr[f.PEOffset+4:]
	le.PutUint16(fh[fhNumberOfSections:], uint16(n))
	le.PutUint32(fh[fhPointerToSymbolTable:], 0)
	le.PutUint32(fh[fhNumberOfSymbols:], 0)
	oh := hdr[f.OptionalHeaderOffset:]
	le.PutUint32(oh[optSizeOfCode:], uint32(sizeOfCode))
	le.PutUint32(oh[optSizeOfInitializedData:], uint32(sizeOfData))
	le.PutUint32(oh[optSizeOfImage:], uint32(sizeOfImage))
	le.PutUint32(oh[optSizeOfHeaders:], uint32(sizeOfHeaders))
	le.PutUint32(oh[optCheckSum:], 0)
	certDir := int64(-1)
	if off, ok := f.DataDirectoryOffset(IMAGE_DIRECTORY_ENTRY_SECURITY); ok {
		certDir = off
		clear(hdr[off : off+sizeofDataDirEnt])
	}
	for i, p := range out {
		off := f.SectionTableOffset + int64(i)*sizeofSectionHdr
		p.Header.marshal(hdr[off : off+sizeofSectionHdr])
	}
	return &Layout{
		Header:         hdr,
		Sections:       out,
		ChecksumOffset: f.ChecksumOffset(),
		CertDirOffset:  certDir,
	}, nil
}

// maxFileAlignment is PE/COFF's upper limit on FileAlignment.
const maxFileAlignment = 64 << 10

type memReaderAt []byte

func (b memReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, fmt.Errorf("read at %d: out of range", off)
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
