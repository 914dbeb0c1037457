package uki

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrProfile is returned for a profile the stub could not use.
var ErrProfile = errors.New("invalid UKI profile")

// ProfileSectionNames are the sections a profile may carry besides its
// .profile: those ukify takes from a profile PE (--join-profile), and the
// profile's own .pcrsig. The others (.pcrpkey, .dtbauto, .hwids) are the
// base's only.
var ProfileSectionNames = []string{
	SectionLinux, SectionOSRel, SectionCmdline, SectionInitrd, SectionUcode, SectionSplash,
	SectionDTB, SectionUname, SectionSBAT, SectionEFIFW, SectionPCRSig,
}

// AddProfile adds a profile (systemd-stub 257 and later): its .profile
// section, holding the profile's "KEY=VALUE" lines (ID=, TITLE=), and the
// sections it replaces in the base for that profile. Profile 0 is the first
// added, the one the stub boots when no profile is chosen. The stub must
// know profiles.
func (s *Spec) AddProfile(profile Section, secs ...Section) error {
	if profile.Name != SectionProfile || profile.Size() == 0 {
		return fmt.Errorf("%w: a profile starts with a non-empty %s section", ErrProfile, SectionProfile)
	}
	if !s.knowsProfiles() {
		stub := s.stubInfo.String()
		if stub == "" {
			stub = "a stub without a .sdmagic version"
		}
		return fmt.Errorf("%w: %s does not know profiles (systemd-stub 257 and later do)", ErrProfile, stub)
	}
	p := []Section{profile}
	s.profiles = append(s.profiles, p)
	for _, sec := range secs {
		if err := s.AddToProfile(len(s.profiles)-1, sec); err != nil {
			s.profiles = s.profiles[:len(s.profiles)-1]
			return err
		}
	}
	return nil
}

// AddToProfile adds a section to profile i (a .pcrsig made for it, or a
// section it replaces); empty sections are left out.
func (s *Spec) AddToProfile(i int, sec Section) error {
	if i < 0 || i >= len(s.profiles) {
		return fmt.Errorf("%w: no profile %d", ErrProfile, i)
	}
	if err := checkName(sec.Name); err != nil {
		return err
	}
	if !slices.Contains(ProfileSectionNames, sec.Name) {
		return fmt.Errorf("%w: %s cannot be given per profile (only %v)", ErrProfile, sec.Name, ProfileSectionNames)
	}
	if sec.Size() == 0 {
		return nil
	}
	for _, have := range s.profiles[i] {
		if have.Name == sec.Name {
			return fmt.Errorf("%w: %s in profile %d", ErrDuplicate, sec.Name, i)
		}
	}
	s.profiles[i] = append(s.profiles[i], sec)
	return nil
}

// Profiles is the number of profiles (0 for a UKI without any).
func (s *Spec) Profiles() int { return len(s.profiles) }

// ProfileSections returns what the stub measures when booting profile i:
// the base's sections, each replaced by the profile's of the same name,
// then the profile's others, in canonical order. Without profiles (i is
// then 0) it is the base. A profile's .pcrsig is its own.
func (s *Spec) ProfileSections(i int) []Section {
	if len(s.profiles) == 0 {
		return canonical(s.sections)
	}
	over := map[string]bool{}
	for _, sec := range s.profiles[i] {
		over[sec.Name] = true
	}
	var out []Section
	for _, sec := range s.sections {
		if !over[sec.Name] {
			out = append(out, sec)
		}
	}
	return canonical(append(out, s.profiles[i]...))
}

// knowsProfiles: systemd-stub 257 and later, or the addon stub of the
// same versions (ukify makes profile PEs on it); a stub without a version
// may not know them.
func (s *Spec) knowsProfiles() bool {
	return (s.stubInfo.IsStub() || s.stubInfo.Loader == LoaderAddon) && s.stubInfo.Major() >= 257
}

// NewProfileSpec is a profile PE, as "ukify build --profile=..." makes one
// without --linux: the stub with one profile's .profile and the sections
// it replaces, for "--join-profile" of a later build. No .sbat is added
// (ukify adds none to a profile PE), and the stub's is left out: only the
// profile's sections are taken from such a file.
func NewProfileSpec(stub []byte, profile Section, secs ...Section) (*Spec, error) {
	f, err := pe.NewFile(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		return nil, fmt.Errorf("stub: %w", err)
	}
	if d := f.DataDirectory(pe.IMAGE_DIRECTORY_ENTRY_SECURITY); d.Size != 0 || d.VirtualAddress != 0 {
		return nil, ErrSignedStub
	}
	s := &Spec{Stub: stub, stub: f}
	if v, err := ReadStubInfo(f); err == nil {
		s.stubInfo = v
	}
	if err := s.AddProfile(profile, secs...); err != nil {
		return nil, err
	}
	return s, nil
}
