package uki

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
)

// ErrDuplicate is returned when a section is given twice.
var ErrDuplicate = errors.New("duplicate section")

// Spec is everything a UKI will contain: the stub and the sections added to
// it. Build it with NewSpec, add computed sections with Add.
type Spec struct {
	Stub     []byte
	stub     *pe.File
	stubInfo StubInfo
	sections []Section
	// profiles holds each profile's sections, its .profile first
	// (systemd 257: the sections from one .profile to the next).
	profiles [][]Section
}

// Options are the inputs of a UKI, as ukify takes them.
type Options struct {
	Stub    []byte   // a systemd-stub PE image, unsigned
	Linux   string   // kernel image path (required)
	Initrds []string // concatenated in order into .initrd
	// ExtraInitrds are archives made in memory, appended to .initrd after
	// the Initrds files (the kernel unpacks concatenated cpio archives in
	// order, so later ones add files to earlier ones).
	ExtraInitrds [][]byte
	// Sections are the other payloads (.osrel, .cmdline, .uname, .splash,
	// .dtb, .ucode, .pcrpkey and any extra named sections). Empty ones are
	// left out, as systemd-stub treats them as absent.
	Sections []Section
	// SBAT sources merged after the stub's and the kernel's (see
	// sbat.Merge: an entry replaces an earlier one of the same component,
	// Default sources only add components); when there are none,
	// sbat.UKIEntry is used, as ukify does.
	SBAT []sbat.Source
}

// NewSpec checks the stub and inputs and collects the sections, merging the
// stub's, the kernel's and the user's SBAT into one .sbat.
func NewSpec(o Options) (*Spec, error) {
	s := &Spec{Stub: o.Stub}
	f, err := pe.NewFile(bytes.NewReader(o.Stub), int64(len(o.Stub)))
	if err != nil {
		return nil, fmt.Errorf("stub: %w", err)
	}
	if d := f.DataDirectory(pe.IMAGE_DIRECTORY_ENTRY_SECURITY); d.Size != 0 || d.VirtualAddress != 0 {
		return nil, ErrSignedStub
	}
	s.stub = f
	if v, err := ReadStubInfo(f); err == nil {
		s.stubInfo = v
	}
	if o.Linux == "" {
		return nil, errors.New("no kernel given (.linux is required)")
	}
	linux, err := FileSection(SectionLinux, o.Linux)
	if err != nil {
		return nil, err
	}
	if err := s.Add(linux); err != nil {
		return nil, err
	}
	if len(o.Initrds) > 0 || len(o.ExtraInitrds) > 0 {
		files, err := FileSection(SectionInitrd, o.Initrds...)
		if err != nil {
			return nil, err
		}
		initrd := files
		if len(o.ExtraInitrds) > 0 {
			parts := []Section{files}
			for _, b := range o.ExtraInitrds {
				parts = append(parts, NewSection(SectionInitrd, b))
			}
			initrd = Concat(SectionInitrd, parts...)
		}
		if err := s.Add(initrd); err != nil {
			return nil, err
		}
	}
	for _, sec := range o.Sections {
		if err := s.Add(sec); err != nil {
			return nil, err
		}
	}

	sources := []sbat.Source{}
	if sec := f.Section(SectionSBAT); sec != nil {
		b, err := f.SectionData(sec, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("stub: %w", err)
		}
		sources = append(sources, sbat.Source{Name: "stub .sbat", Text: b})
	}
	ks, err := kernelSBAT(o.Linux)
	if err != nil {
		return nil, err
	}
	if ks != nil {
		sources = append(sources, sbat.Source{Name: "kernel .sbat", Text: ks})
	}
	user := o.SBAT
	if len(user) == 0 {
		user = []sbat.Source{{Name: "default", Text: []byte(sbat.UKIEntry), Default: true}}
	}
	merged, err := sbat.Merge(append(sources, user...)...)
	if err != nil {
		return nil, err
	}
	if err := s.Add(NewSection(SectionSBAT, merged)); err != nil {
		return nil, err
	}
	return s, nil
}

// kernelSBAT returns the kernel's .sbat, or nil when it has none or is not
// a PE image (ukify only warns then, and so do we, silently).
func kernelSBAT(path string) ([]byte, error) {
	k, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	defer k.Close()
	fi, err := k.Stat()
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	kf, err := pe.NewFile(k, fi.Size())
	if err != nil {
		if errors.Is(err, pe.ErrNotPE) {
			return nil, nil
		}
		return nil, fmt.Errorf("kernel %s: %w", path, err)
	}
	sec := kf.Section(SectionSBAT)
	if sec == nil {
		return nil, nil
	}
	b, err := kf.SectionData(sec, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	return b, nil
}

// Add adds a section; empty sections are left out. A name may appear once,
// only .sbat may replace a section of the stub, and a name that starts with
// a standard one is refused (ErrShadowedName).
func (s *Spec) Add(sec Section) error {
	if err := checkName(sec.Name); err != nil {
		return err
	}
	if sec.Name == SectionProfile {
		return fmt.Errorf("%w: %s sections are added with AddProfile", ErrProfile, sec.Name)
	}
	if sec.Size() == 0 {
		return nil
	}
	if std, ok := ShadowedName(sec.Name, s.stubInfo); ok {
		return fmt.Errorf("%w: %s would be taken for %s", ErrShadowedName, sec.Name, std)
	}
	for _, have := range s.sections {
		if have.Name == sec.Name {
			return fmt.Errorf("%w: %s", ErrDuplicate, sec.Name)
		}
	}
	if sec.Name != SectionSBAT && s.stub != nil && s.stub.Section(sec.Name) != nil {
		return fmt.Errorf("%w: the stub already has a %s section", ErrDuplicate, sec.Name)
	}
	s.sections = append(s.sections, sec)
	return nil
}

// Ordered returns the sections as they are laid out: the base's in
// canonical order, then any others in the order they were added, then each
// profile's, its .profile first. Without profiles this is also the order
// of the stub's measurements.
func (s *Spec) Ordered() []Section {
	out := canonical(s.sections)
	for _, p := range s.profiles {
		out = append(out, p[0])
		out = append(out, canonical(p[1:])...)
	}
	return out
}

func canonical(secs []Section) []Section {
	out := append([]Section(nil), secs...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Name) < rank(out[j].Name) })
	return out
}

// Section returns the section called name.
func (s *Spec) Section(name string) (Section, bool) {
	for _, sec := range s.sections {
		if sec.Name == name {
			return sec, true
		}
	}
	return Section{}, false
}

// StubFile is the stub's parsed PE image (its own sections: code, data,
// .sdmagic, .sbat), which measure.RulesForImage reads.
func (s *Spec) StubFile() *pe.File { return s.stub }

// StubInfo is what the stub's .sdmagic says (zero when it has none or
// cannot be read).
func (s *Spec) StubInfo() StubInfo { return s.stubInfo }
