package uki

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/systemdpeer"
)

func profileSpec(t *testing.T, major int) *Spec {
	t.Helper()
	stub, err := os.ReadFile(systemdpeer.Get(t, major).Stub(t))
	if err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(t.TempDir(), "kernel")
	if err := os.WriteFile(k, []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewSpec(Options{Stub: stub, Linux: k, Sections: []Section{NewSection(SectionCmdline, []byte("base"))}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestProfiles: layout (base, then each .profile first), the sections the
// stub sees per profile, and what is refused.
func TestProfiles(t *testing.T) {
	s := profileSpec(t, 257)
	if err := s.AddProfile(NewSection(SectionProfile, []byte("ID=main"))); err != nil {
		t.Fatal(err)
	}
	if err := s.AddProfile(NewSection(SectionProfile, []byte("ID=rescue")), NewSection(SectionOSRel, []byte("ID=x")), NewSection(SectionCmdline, []byte("rescue"))); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sec := range s.Ordered() {
		names = append(names, sec.Name)
	}
	if want := []string{".linux", ".cmdline", ".sbat", ".profile", ".profile", ".osrel", ".cmdline"}; !slices.Equal(names, want) {
		t.Errorf("layout %v, want %v", names, want)
	}
	got := func(i int) (out []string) {
		for _, sec := range s.ProfileSections(i) {
			out = append(out, sec.Name)
		}
		return out
	}
	if want := []string{".linux", ".cmdline", ".sbat", ".profile"}; !slices.Equal(got(0), want) {
		t.Errorf("profile 0 sees %v, want %v", got(0), want)
	}
	if want := []string{".linux", ".osrel", ".cmdline", ".sbat", ".profile"}; !slices.Equal(got(1), want) {
		t.Errorf("profile 1 sees %v, want %v", got(1), want)
	}
	for _, tc := range []struct {
		name    string
		profile Section
		secs    []Section
		err     error
	}{
		{"empty .profile", NewSection(SectionProfile, nil), nil, ErrProfile},
		{"not a .profile", NewSection(SectionCmdline, []byte("x")), nil, ErrProfile},
		{".pcrpkey is the base's only", NewSection(SectionProfile, []byte("ID=a")), []Section{NewSection(SectionPCRPKey, []byte("k"))}, ErrProfile},
		{"a section twice", NewSection(SectionProfile, []byte("ID=a")), []Section{NewSection(SectionCmdline, []byte("a")), NewSection(SectionCmdline, []byte("b"))}, ErrDuplicate},
	} {
		if err := s.AddProfile(tc.profile, tc.secs...); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if s.Profiles() != 2 {
		t.Errorf("%d profiles after refusals, want 2", s.Profiles())
	}
	if err := s.Add(NewSection(SectionProfile, []byte("ID=b"))); !errors.Is(err, ErrProfile) {
		t.Errorf("Add(.profile): %v", err)
	}
	// 254 knows no profiles.
	if err := profileSpec(t, 254).AddProfile(NewSection(SectionProfile, []byte("ID=main"))); !errors.Is(err, ErrProfile) {
		t.Errorf("profile on stub 254: %v", err)
	}
}
