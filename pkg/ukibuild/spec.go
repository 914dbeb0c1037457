package ukibuild

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// newSpec turns the inputs into the list of sections the image carries.
func newSpec(in Inputs) (*uki.Spec, error) {
	if in.Linux == "" {
		return nil, inputErr("linux", "", errors.New("a kernel is required"))
	}
	sbats, err := sbatSources(in)
	if err != nil {
		return nil, err
	}
	opts := uki.Options{Stub: in.Stub, Linux: in.Linux, Initrds: in.Initrds, SBAT: sbats}
	cmdline := in.Cmdline
	if in.ClosureManifest != "" {
		archive, line, err := embedManifest(in.ClosureManifest, cmdline)
		if err != nil {
			return nil, err
		}
		opts.ExtraInitrds = append(opts.ExtraInitrds, archive)
		cmdline = line
	}
	uname := in.Uname
	if uname == nil {
		// Like ukify: not finding the release only means no .uname.
		if r, err := uki.KernelRelease(in.Linux); err == nil {
			uname = []byte(r)
		}
	}
	for _, t := range []struct {
		name string
		data []byte
	}{
		{uki.SectionCmdline, cmdline},
		{uki.SectionOSRel, in.OSRelease},
		{uki.SectionUname, uname},
	} {
		if len(t.data) > 0 {
			opts.Sections = append(opts.Sections, uki.NewSection(t.name, t.data))
		}
	}
	for _, f := range []struct{ input, name, path string }{
		{"splash", uki.SectionSplash, in.Splash},
		{"devicetree", uki.SectionDTB, in.DeviceTree},
		{"microcode", uki.SectionUcode, in.Microcode},
		{"pcrpkey", uki.SectionPCRPKey, in.PCRPKey},
	} {
		if f.path == "" {
			continue
		}
		sec, err := uki.FileSection(f.name, f.path)
		if err != nil {
			return nil, inputErr(f.input, "", err)
		}
		opts.Sections = append(opts.Sections, sec)
	}
	if in.PCRPKey == "" && len(in.PCR.Groups) == 1 {
		g := in.PCR.Groups[0]
		pub := g.Public
		if pub == nil && g.Key != nil {
			pub = g.Key.Public()
		}
		pem, err := measure.PublicKeyPEM(pub)
		if err != nil {
			return nil, inputErr("pcr-private-key", "", err)
		}
		opts.Sections = append(opts.Sections, uki.NewSection(uki.SectionPCRPKey, pem))
	}
	opts.Sections = append(opts.Sections, in.Sections...)
	spec, err := uki.NewSpec(opts)
	if err != nil {
		return nil, err
	}
	if err := addProfiles(spec, in); err != nil {
		return nil, err
	}
	return spec, nil
}

// defaultProfile is ukify's .profile for profile 0 when only further
// profiles are given.
const defaultProfile = "ID=main"

// addProfiles adds profile 0 and the further profiles, as ukify lays them
// out: everything before the first .profile is shared.
func addProfiles(spec *uki.Spec, in Inputs) error {
	if in.Profile == nil && len(in.Profiles) == 0 {
		return nil
	}
	first := in.Profile
	if first == nil {
		first = []byte(defaultProfile)
	}
	if err := spec.AddProfile(uki.NewSection(uki.SectionProfile, first)); err != nil {
		return inputErr("profile", "", err)
	}
	for i, p := range in.Profiles {
		if in.ClosureManifest != "" && (p.Cmdline != nil || hasSection(p.Sections, uki.SectionCmdline, uki.SectionInitrd)) {
			return inputErr("join-profile", "", fmt.Errorf("profile %d replaces .cmdline or .initrd, which would drop the closure manifest's digest or settings: not supported with a closure manifest", i+1))
		}
		secs := append([]uki.Section{}, p.Sections...)
		if p.Cmdline != nil {
			secs = append(secs, uki.NewSection(uki.SectionCmdline, p.Cmdline))
		}
		if p.OSRelease != nil {
			secs = append(secs, uki.NewSection(uki.SectionOSRel, p.OSRelease))
		}
		if err := spec.AddProfile(uki.NewSection(uki.SectionProfile, p.Profile), secs...); err != nil {
			return inputErr("join-profile", "", fmt.Errorf("profile %d: %w", i+1, err))
		}
	}
	return nil
}

func hasSection(secs []uki.Section, names ...string) bool {
	for _, s := range secs {
		if slices.Contains(names, s.Name) {
			return true
		}
	}
	return false
}
