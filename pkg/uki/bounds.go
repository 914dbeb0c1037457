package uki

import (
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrVirtualSize is returned for an image whose sections claim more zero
// padding (VirtualSize beyond their data in the file) than the file has
// bytes. A loader maps such padding as zeros and systemd-stub measures it,
// so hashing it is needed to predict PCR 11; but a crafted file of a few
// hundred bytes can claim gigabytes, and hashing them would take minutes.
// Work on an image is therefore bounded by its size plus MaxExtraPadding: no
// real UKI pads its sections by more than it holds, and the allowance keeps
// a small stub with a zero-filled .bss-like section (a few KiB of file,
// tens of KiB in memory) inspectable.
var ErrVirtualSize = errors.New("sections' VirtualSize exceeds their data by more than the file's size")

// MaxExtraPadding is the zero padding allowed beyond the file's size; 16
// MiB of zeros hash in a few tens of milliseconds.
const MaxExtraPadding = 16 << 20

// ZeroPadding is the number of zero bytes a loader maps after the part of
// s that is in the file: VirtualSize beyond what f.SectionReader yields.
func ZeroPadding(f *pe.File, s *pe.SectionHeader) int64 {
	return max(0, int64(s.VirtualSize)-f.SectionReader(s).Size())
}

// CheckVirtualSizes refuses (ErrVirtualSize, naming the section that
// crosses the bound) an image whose sections' zero padding adds up to more
// than the file's size plus MaxExtraPadding.
func CheckVirtualSizes(f *pe.File) error {
	var total int64
	for i := range f.Sections {
		s := &f.Sections[i]
		pad := ZeroPadding(f, s)
		total += pad
		if total > f.Size+MaxExtraPadding {
			return fmt.Errorf("%w: section %s has VirtualSize %d for %d bytes of data in a %d-byte file",
				ErrVirtualSize, s.NameString(), s.VirtualSize, int64(s.VirtualSize)-pad, f.Size)
		}
	}
	return nil
}
