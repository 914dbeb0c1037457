package uki

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
)

// Info describes an image, for `nix-uki inspect`.
type Info struct {
	Sections    []SectionInfo `json:"sections"`
	OSRelease   string        `json:"os_release,omitempty"`
	Cmdline     string        `json:"cmdline,omitempty"`
	Uname       string        `json:"uname,omitempty"`
	SBAT        string        `json:"sbat,omitempty"`
	StubVersion string        `json:"stub_version,omitempty"`
	Stub        StubInfo      `json:"-"`
	// StubSections is the stub's own table of the sections it knows, in
	// its measuring order (ReadStubSections; empty when not found).
	StubSections []string `json:"stub_sections,omitempty"`
	// Profiles lists a multi-profile UKI's profiles, in order.
	Profiles   []ProfileInfo   `json:"profiles,omitempty"`
	Signatures []SignatureInfo `json:"signatures"`
	// UKI tells whether systemd-stub would boot this as a UKI; Problems
	// says why not (or what it would ignore).
	UKI      bool     `json:"uki"`
	Problems []string `json:"problems,omitempty"`
}

// SectionInfo is one section: VirtualSize, RVA, file offset and the
// SHA-256 of the VirtualSize bytes a loader maps (what the stub measures;
// empty when the image's padding is out of bounds, see CheckVirtualSizes).
type SectionInfo struct {
	Name           string `json:"name"`
	Size           uint32 `json:"size"`
	VirtualAddress uint32 `json:"virtual_address"`
	FileOffset     uint32 `json:"file_offset"`
	SHA256         string `json:"sha256"`
}

// SignatureInfo is one Authenticode signature.
type SignatureInfo struct {
	Subject         string `json:"subject"`
	Issuer          string `json:"issuer"`
	DigestAlgorithm string `json:"digest_algorithm"`
	// DigestMatches tells whether the signed digest is this image's.
	DigestMatches bool `json:"digest_matches"`
}

const maxTextSection = 1 << 20

// Inspect describes the image f.
func Inspect(f *pe.File) (*Info, error) {
	info := &Info{Signatures: []SignatureInfo{}}
	// Zero padding is hashed only when the whole image's padding is
	// bounded by its size (CheckVirtualSizes); otherwise the sections that
	// have some get no digest, and the image is not a UKI.
	padOK := true
	if err := CheckVirtualSizes(f); err != nil {
		padOK = false
		info.Problems = append(info.Problems, err.Error())
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		pad := ZeroPadding(f, s)
		digest := ""
		if pad == 0 || padOK {
			h := sha256.New()
			if _, err := io.Copy(h, f.SectionReader(s)); err != nil {
				return nil, fmt.Errorf("reading %s: %w", s.NameString(), err)
			}
			// Bytes past the raw data are zeros in memory.
			if _, err := io.CopyN(h, zeros{}, pad); err != nil {
				return nil, err
			}
			digest = hex.EncodeToString(h.Sum(nil))
		}
		size := s.VirtualSize
		if size == 0 {
			size = s.SizeOfRawData
		}
		info.Sections = append(info.Sections, SectionInfo{
			Name: s.NameString(), Size: size, VirtualAddress: s.VirtualAddress,
			FileOffset: s.PointerToRawData, SHA256: digest,
		})
	}
	text := func(name string) string {
		s := f.Section(name)
		if s == nil {
			return ""
		}
		b, err := f.SectionData(s, maxTextSection)
		if err != nil {
			info.Problems = append(info.Problems, err.Error())
			return ""
		}
		return strings.TrimRight(string(b), "\x00")
	}
	info.OSRelease = text(SectionOSRel)
	info.Cmdline = text(SectionCmdline)
	info.Uname = text(SectionUname)
	info.SBAT = text(SectionSBAT)
	if info.SBAT != "" {
		if _, _, err := sbat.Parse(".sbat", []byte(info.SBAT)); err != nil {
			info.Problems = append(info.Problems, err.Error())
		}
	}
	if v, err := ReadStubInfo(f); err == nil {
		info.Stub, info.StubVersion = v, v.String()
	}
	info.Profiles = profiles(f, info)
	if t, err := ReadStubSections(f); err == nil {
		info.StubSections = t
	}

	sigs, err := authenticode.Signatures(f)
	if err != nil {
		info.Problems = append(info.Problems, err.Error())
	}
	for _, s := range sigs {
		si := SignatureInfo{
			Subject:         s.Signer.Subject.String(),
			Issuer:          s.Signer.Issuer.String(),
			DigestAlgorithm: strings.ToLower(strings.ReplaceAll(s.DigestAlg.String(), "-", "")),
		}
		si.DigestMatches = s.CheckDigest(f) == nil
		info.Signatures = append(info.Signatures, si)
	}
	up := ukiProblems(f, info)
	info.Problems = append(info.Problems, up...)
	info.UKI = len(up) == 0 && padOK
	return info, nil
}

// ukiProblems lists what keeps systemd-stub from booting f as a UKI.
func ukiProblems(f *pe.File, info *Info) []string {
	var p []string
	if !info.Stub.IsStub() {
		p = append(p, "no systemd-stub: .sdmagic is missing or does not name systemd-stub")
	}
	if s := f.Section(SectionLinux); s == nil || s.VirtualSize == 0 {
		p = append(p, "no .linux section: the stub has no kernel to start")
	}
	seen := map[string]bool{}
	for _, s := range info.Sections {
		if std, ok := ShadowedName(s.Name, info.Stub); ok {
			p = append(p, fmt.Sprintf("section %s starts with %s: a systemd-stub matching names by prefix would take it for %s", s.Name, std, std))
		}
		if s.Name == SectionProfile {
			seen = map[string]bool{} // a profile's sections replace the base's
			continue
		}
		if rank(s.Name) < len(CanonicalOrder) && seen[s.Name] {
			p = append(p, fmt.Sprintf("section %s appears twice", s.Name))
		}
		seen[s.Name] = true
	}
	return p
}

// ProfileInfo is one profile of a multi-profile UKI: what its .profile
// says and the sections it replaces.
type ProfileInfo struct {
	Index    int      `json:"index"`
	Profile  string   `json:"profile"`
	ID       string   `json:"id,omitempty"`
	Title    string   `json:"title,omitempty"`
	Sections []string `json:"sections"`
}

// profiles lists the image's profiles: each .profile section and the
// sections after it up to the next.
func profiles(f *pe.File, info *Info) []ProfileInfo {
	var out []ProfileInfo
	for i := range f.Sections {
		s := &f.Sections[i]
		name := s.NameString()
		if name == SectionProfile {
			p := ProfileInfo{Index: len(out), Sections: []string{}}
			if b, err := f.SectionData(s, maxTextSection); err != nil {
				info.Problems = append(info.Problems, err.Error())
			} else {
				p.Profile = strings.TrimRight(string(b[:min(len(b), int(s.VirtualSize))]), "\x00")
				for _, line := range strings.Split(p.Profile, "\n") {
					k, v, _ := strings.Cut(line, "=")
					v = strings.Trim(v, `"'`)
					switch k {
					case "ID":
						p.ID = v
					case "TITLE":
						p.Title = v
					}
				}
			}
			out = append(out, p)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Sections = append(out[len(out)-1].Sections, name)
		}
	}
	return out
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
