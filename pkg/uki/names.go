package uki

import (
	"errors"
	"slices"
	"strings"
)

// ErrShadowedName is returned for a section whose name starts with a
// standard section's name without being it (".linuxZZ", ".initrdX").
//
// systemd-stub 252 (src/boot/efi/pe.c, locate_sections) compares a
// section's name with each standard name over the standard name's length
// only, and the last matching section in the table wins: an extra section
// ".linuxZZ" after ".linux" would be booted as the kernel, ".initrdX" would
// replace the initrd (dropping the closure manifest's archive). Later stubs
// compare whole names (pe_section_name_equal), but such a name has no use
// and would be dangerous with an older stub, so it is refused whatever the
// stub's version.
var ErrShadowedName = errors.New("section name starts with a standard section's name; systemd-stub matches names by prefix")

// exactNames is the first systemd version that knows a standard name which
// starts with another one (.dtbauto, .dtb), and so compares whole names.
const exactNames = 257

// ShadowedName returns the standard section that a systemd-stub matching
// names by prefix would take name for, and whether there is one. A
// standard name is never shadowed by itself; .dtbauto is not shadowed for
// a stub that knows it (257 and later).
func ShadowedName(name string, stub StubInfo) (string, bool) {
	for _, std := range CanonicalOrder {
		if name == std || !strings.HasPrefix(name, std) {
			continue
		}
		if slices.Contains(CanonicalOrder, name) && stub.IsStub() && stub.Major() >= exactNames {
			continue
		}
		return std, true
	}
	return "", false
}
