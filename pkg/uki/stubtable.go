package uki

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrNoSectionTable is returned when a stub's own list of UKI section
// names cannot be found in its code and data.
var ErrNoSectionTable = errors.New("no table of UKI section names found in the stub")

// Bounds on what ReadStubSections reads: the stub's own sections (a
// systemd-stub is about 100 KiB; padding of a trimmed .text is allowed
// for) and the number of names in its table (15 in systemd 258).
const (
	maxStubCode     = 32 << 20
	maxTableEntries = 64
	maxLinuxStrings = 16
	optImageBase    = 24 // PE32+ optional header: ImageBase, 8 bytes
)

// ReadStubSections returns the stub's own table of the UKI sections it
// knows, in its order: systemd-stub keeps the names in an array of string
// pointers indexed by section number (systemd src/fundamental/uki.h,
// unified_sections[]), which is the order it measures them in. The array
// is found through the address of the ".linux" string: the pointers are
// stored as ImageBase+RVA, relocated by the loader. Only the stub's own
// sections are read (not the UKI's payload, see CanonicalOrder), at most
// 32 MiB; names are checked to be section names (".", at most 8 bytes).
func ReadStubSections(f *pe.File) ([]string, error) {
	if f.OptionalHeaderOffset+optImageBase+8 > int64(len(f.Header)) {
		return nil, fmt.Errorf("%w: no ImageBase", ErrNoSectionTable)
	}
	base := binary.LittleEndian.Uint64(f.Header[f.OptionalHeaderOffset+optImageBase:])
	type mapped struct {
		va   uint32
		data []byte
	}
	var secs []mapped
	var total int64
	for i := range f.Sections {
		s := &f.Sections[i]
		if slices.Contains(CanonicalOrder, s.NameString()) || s.NameString() == SectionSDMagic {
			continue
		}
		n := int64(min(s.SizeOfRawData, s.VirtualSize))
		if s.VirtualSize == 0 {
			n = int64(s.SizeOfRawData)
		}
		if total += n; total > maxStubCode {
			return nil, fmt.Errorf("%w: the stub's sections exceed %d bytes", ErrNoSectionTable, maxStubCode)
		}
		b, err := f.SectionData(s, n)
		if err != nil {
			return nil, err
		}
		secs = append(secs, mapped{s.VirtualAddress, b[:min(int64(len(b)), n)]})
	}
	// at returns the bytes at an RVA, to the end of their section.
	at := func(rva uint64) []byte {
		for _, m := range secs {
			if rva >= uint64(m.va) && rva < uint64(m.va)+uint64(len(m.data)) {
				return m.data[rva-uint64(m.va):]
			}
		}
		return nil
	}
	name := func(ptr uint64) (string, bool) {
		if ptr < base {
			return "", false
		}
		b := at(ptr - base)
		end := bytes.IndexByte(b, 0)
		if end < 2 || end > 8 || b[0] != '.' {
			return "", false
		}
		for _, c := range b[1:end] {
			if c < 'a' || c > 'z' {
				return "", false
			}
		}
		return string(b[:end]), true
	}
	// Where the ".linux" strings are, as the pointers to them would read
	// (a few at most in a real stub; more are ignored, so the scan below
	// stays one pass over the data).
	ptrs := map[uint64]bool{}
	for _, m := range secs {
		for off := 0; len(ptrs) < maxLinuxStrings; {
			i := bytes.Index(m.data[off:], []byte(SectionLinux+"\x00"))
			if i < 0 {
				break
			}
			ptrs[base+uint64(m.va)+uint64(off+i)] = true
			off += i + 1
		}
	}
	var best []string
	for _, p := range secs {
		for j := 0; j+8 <= len(p.data); j += 8 {
			if !ptrs[binary.LittleEndian.Uint64(p.data[j:])] {
				continue
			}
			var names []string
			for k := j; k+8 <= len(p.data) && len(names) < maxTableEntries; k += 8 {
				n, ok := name(binary.LittleEndian.Uint64(p.data[k:]))
				if !ok {
					break
				}
				names = append(names, n)
			}
			if len(names) > len(best) {
				best = names
			}
		}
	}
	if len(best) < 2 {
		return nil, ErrNoSectionTable
	}
	return best, nil
}
