package uki

import "github.com/nix-boot-security/nix-boot-security/pkg/pe"

// CanonicalOrder is the order in which systemd-stub measures sections into
// PCR 11 (systemd src/fundamental/uki.h, UnifiedSection). Everything but
// .pcrsig is measured. Sections are also laid out in this order.
var CanonicalOrder = []string{
	".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb",
	".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto",
	".hwids", ".efifw",
}

// Section names with a meaning to systemd-stub.
const (
	SectionLinux   = ".linux"
	SectionOSRel   = ".osrel"
	SectionCmdline = ".cmdline"
	SectionInitrd  = ".initrd"
	SectionUcode   = ".ucode"
	SectionSplash  = ".splash"
	SectionDTB     = ".dtb"
	SectionUname   = ".uname"
	SectionSBAT    = ".sbat"
	SectionPCRSig  = ".pcrsig"
	SectionPCRPKey = ".pcrpkey"
	SectionProfile = ".profile" // systemd 257
	SectionDTBAuto = ".dtbauto" // systemd 257
	SectionHWIDs   = ".hwids"   // systemd 257
	SectionEFIFW   = ".efifw"   // systemd 258
	SectionSDMagic = ".sdmagic"
)

// Section characteristics as ukify sets them: everything readable
// initialized data, except .linux, which is code (kernels started through
// the EFI handover protocol run in place).
const (
	flagsData  = pe.IMAGE_SCN_MEM_READ | pe.IMAGE_SCN_CNT_INITIALIZED_DATA
	flagsLinux = pe.IMAGE_SCN_MEM_READ | pe.IMAGE_SCN_CNT_CODE
)

// DefaultStubPaths are searched, in order, when no stub is given.
var DefaultStubPaths = []string{
	"/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
	"/usr/lib/systemd/boot/efi/linuxaa64.efi.stub",
	"/usr/local/lib/systemd/boot/efi/linuxx64.efi.stub",
	"/run/current-system/sw/lib/systemd/boot/efi/linuxx64.efi.stub",
}

func rank(name string) int {
	for i, n := range CanonicalOrder {
		if n == name {
			return i
		}
	}
	return len(CanonicalOrder)
}
