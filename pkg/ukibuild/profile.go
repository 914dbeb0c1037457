package ukibuild

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// maxProfileSection bounds what one section of a profile PE may hold: the
// sections are read into memory (a profile replacing .linux or .initrd
// should name files in Profile.Sections instead).
const maxProfileSection = 64 << 20

// ErrProfilePE is returned for a profile PE ukify would refuse.
var ErrProfilePE = errors.New("not a profile PE")

// ReadProfilePE reads a profile as ukify's --join-profile takes it: a PE
// binary (made by "ukify build --profile=... --cmdline=..." without
// --linux) whose first section of those a profile may carry is .profile,
// present once. The sections ukify imports (.profile, .linux, .osrel,
// .cmdline, .initrd, .ucode, .splash, .dtb, .uname, .sbat, .efifw) are
// taken, min(VirtualSize, SizeOfRawData) bytes each, as ukify does; the
// others (the stub's own, a .pcrsig) are left. The file is untrusted:
// each section is bounded by the file and by 64 MiB.
func ReadProfilePE(path string) (Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return Profile{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Profile{}, err
	}
	return ReadProfile(f, fi.Size(), path)
}

// ReadProfile is ReadProfilePE of the size bytes in r; path only names
// them in errors.
func ReadProfile(r io.ReaderAt, size int64, path string) (Profile, error) {
	pf, err := pe.NewFile(r, size)
	if err != nil {
		return Profile{}, fmt.Errorf("%s: %w", path, err)
	}
	var p Profile
	for i := range pf.Sections {
		s := &pf.Sections[i]
		name := s.NameString()
		if name != uki.SectionProfile && (name == uki.SectionPCRSig || !slices.Contains(uki.ProfileSectionNames, name)) {
			continue
		}
		if p.Profile == nil && name != uki.SectionProfile {
			return Profile{}, fmt.Errorf("%s: %w: its first section is %s, not .profile", path, ErrProfilePE, name)
		}
		if p.Profile != nil && name == uki.SectionProfile {
			return Profile{}, fmt.Errorf("%s: %w: more than one .profile", path, ErrProfilePE)
		}
		n := int64(min(s.VirtualSize, s.SizeOfRawData))
		if n > maxProfileSection {
			return Profile{}, fmt.Errorf("%s: section %s is %d bytes, more than the %d a profile PE may hold here", path, name, n, maxProfileSection)
		}
		b, err := pf.SectionData(s, n)
		if err != nil {
			return Profile{}, fmt.Errorf("%s: %w", path, err)
		}
		b = b[:min(int64(len(b)), n)]
		if name == uki.SectionProfile {
			if len(b) == 0 {
				return Profile{}, fmt.Errorf("%s: %w: empty .profile", path, ErrProfilePE)
			}
			p.Profile = b
			continue
		}
		p.Sections = append(p.Sections, uki.NewSection(name, b))
	}
	if p.Profile == nil {
		return Profile{}, fmt.Errorf("%s: %w: no .profile section", path, ErrProfilePE)
	}
	return p, nil
}

// ComposeProfile plans a profile PE (see uki.NewProfileSpec): the stub with
// p's .profile and the sections it replaces, for --join-profile. Nothing
// is signed or measured: the UKI that joins it is.
func ComposeProfile(stub []byte, p Profile) (*UKI, error) {
	secs := append([]uki.Section{}, p.Sections...)
	if p.Cmdline != nil {
		secs = append(secs, uki.NewSection(uki.SectionCmdline, p.Cmdline))
	}
	if p.OSRelease != nil {
		secs = append(secs, uki.NewSection(uki.SectionOSRel, p.OSRelease))
	}
	spec, err := uki.NewProfileSpec(stub, uki.NewSection(uki.SectionProfile, p.Profile), secs...)
	if err != nil {
		return nil, inputErr("profile", "", err)
	}
	return &UKI{spec: spec}, nil
}
