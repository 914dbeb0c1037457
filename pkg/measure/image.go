package measure

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// Bounds on what is read from an image's sections: a .pcrsig is JSON of a
// few KiB per key, a .pcrpkey one PEM key.
const (
	maxImagePCRSig  = 16 << 20
	maxImagePCRPKey = 1 << 20
)

// PredictImage predicts PCR 11 for an existing image, with the rules of
// the stub it was built on (RulesForImage): the sections that stub
// measures, VirtualSize bytes each, as the loader maps them. For a
// multi-profile UKI it is the prediction of profile 0, the one the stub
// boots when no profile is chosen (see PredictImageProfiles). An image
// whose sections claim more zero padding than the file could justify is
// refused (uki.ErrVirtualSize) before anything is hashed, so the work is
// bounded by the file's size.
func PredictImage(f *pe.File, banks []Bank, phases []Phase) (*Prediction, error) {
	preds, err := PredictImageProfiles(f, banks, phases)
	if err != nil {
		return nil, err
	}
	return preds[0], nil
}

// PredictImageProfiles predicts PCR 11 for each profile of an image: one
// prediction for an image without .profile sections, else one per
// .profile, in order (profile N is what the stub measures when started
// with "@N"). The sections before the first .profile are the base; a
// profile's sections (its .profile up to the next) replace the base's of
// the same name, as systemd-stub 257 and later select them.
func PredictImageProfiles(f *pe.File, banks []Bank, phases []Phase) ([]*Prediction, error) {
	rules, err := RulesForImage(f)
	if err != nil {
		return nil, err
	}
	if err := uki.CheckVirtualSizes(f); err != nil {
		return nil, err
	}
	var base []Section
	var profiles [][]Section
	for i := range f.Sections {
		s := &f.Sections[i]
		name := s.NameString()
		if !slices.Contains(uki.CanonicalOrder, name) {
			continue // the stub's own code and data
		}
		sec := Section{Name: name, Data: f.SectionReader(s), Size: int64(s.VirtualSize)}
		switch {
		case name == uki.SectionProfile && rules.Measures(uki.SectionProfile):
			profiles = append(profiles, []Section{sec})
		case len(profiles) > 0:
			profiles[len(profiles)-1] = append(profiles[len(profiles)-1], sec)
		default:
			base = append(base, sec)
		}
	}
	if len(profiles) == 0 {
		pred, err := Predict(rules, base, banks, phases)
		if err != nil {
			return nil, err
		}
		return []*Prediction{pred}, nil
	}
	var preds []*Prediction
	for i, p := range profiles {
		// Each prediction reads its sections from the start.
		secs := ProfileSections(rewind(base), rewind(p))
		pred, err := Predict(rules, secs, banks, phases)
		if err != nil {
			return nil, fmt.Errorf("profile %d: %w", i, err)
		}
		pred.Profile = i
		preds = append(preds, pred)
	}
	return preds, nil
}

// ProfileSections returns what the stub sees for one profile: the base's
// sections, each replaced by the profile's section of the same name, then
// the profile's others. A profile's .pcrsig is its own, never the base's.
func ProfileSections(base, profile []Section) []Section {
	over := map[string]bool{}
	for _, s := range profile {
		over[s.Name] = true
	}
	var out []Section
	for _, s := range base {
		if !over[s.Name] {
			out = append(out, s)
		}
	}
	return append(out, profile...)
}

// rewind returns sections whose readers start again at their beginning
// (section readers of a pe.File are io.SectionReaders).
func rewind(secs []Section) []Section {
	out := make([]Section, len(secs))
	for i, s := range secs {
		if sr, ok := s.Data.(*io.SectionReader); ok {
			s.Data = io.NewSectionReader(sr, 0, sr.Size())
		}
		out[i] = s
	}
	return out
}

// ReadImagePCRSig parses an image's .pcrsig; nil when it has none. A
// .pcrsig that is not systemd's JSON wraps ErrInvalidPCRSig. For a
// multi-profile UKI it is profile 0's (see ReadImageProfilePCRSig).
func ReadImagePCRSig(f *pe.File) (*PCRSig, error) {
	return ReadImageProfilePCRSig(f, 0)
}

// ReadImageProfilePCRSig parses the .pcrsig the stub hands over when
// booting profile i: the profile's own, else the base's (a UKI without
// profiles has only the base's, and i must be 0); nil when there is none.
func ReadImageProfilePCRSig(f *pe.File, i int) (*PCRSig, error) {
	var s *pe.SectionHeader
	profile := -1
	for j := range f.Sections {
		h := &f.Sections[j]
		switch h.NameString() {
		case uki.SectionProfile:
			profile++
		case uki.SectionPCRSig:
			if profile == -1 && s == nil || profile == i {
				s = h
			}
		}
	}
	if s == nil {
		return nil, nil
	}
	b, err := f.SectionData(s, maxImagePCRSig)
	if err != nil {
		return nil, err
	}
	sig, err := ParsePCRSig(b)
	if err != nil {
		return nil, fmt.Errorf(".pcrsig: %w", err)
	}
	return &sig, nil
}

// SigReport says, per bank, what an image's .pcrsig signs.
type SigReport struct {
	// KeyError says why the .pcrpkey could not be used to check entries.
	KeyError string       `json:"pcrpkey_error,omitempty"`
	Banks    []BankReport `json:"banks"`
}

// BankReport is one bank's entries in a .pcrsig.
type BankReport struct {
	Bank    string `json:"bank"`
	Entries int    `json:"entries"`
	// ByPCRPKey entries were made by the image's .pcrpkey, of which Valid
	// have a signature that verifies.
	ByPCRPKey int `json:"by_pcrpkey"`
	Valid     int `json:"valid"`
	// Phases are the predicted phase paths whose policy an entry signs;
	// Unmatched entries sign no predicted state of this image.
	Phases    []string `json:"phases"`
	Unmatched int      `json:"unmatched"`
}

// CheckImagePCRSig matches each entry of sig with the predicted policies of
// the image f and checks it against the image's .pcrpkey.
func CheckImagePCRSig(f *pe.File, sig PCRSig, pred *Prediction) *SigReport {
	r := &SigReport{Banks: []BankReport{}}
	var pub crypto.PublicKey
	var fp []byte
	if s := f.Section(uki.SectionPCRPKey); s == nil {
		r.KeyError = "no .pcrpkey"
	} else if b, err := f.SectionData(s, maxImagePCRPKey); err != nil {
		r.KeyError = err.Error()
	} else if pub, err = keys.ParsePublicKey(bytes.TrimRight(b, "\x00")); err != nil {
		r.KeyError = ".pcrpkey: " + err.Error()
	} else if fp, err = Fingerprint(pub); err != nil {
		r.KeyError = ".pcrpkey: " + err.Error()
		pub = nil
	}
	for _, bs := range sig.Banks {
		br := BankReport{Bank: bs.Bank.String(), Entries: len(bs.Entries), Phases: []string{}}
		for _, e := range bs.Entries {
			if pub != nil && bytes.Equal(e.KeyFingerprint, fp) {
				br.ByPCRPKey++
				one := PCRSig{Banks: []BankSignatures{{Bank: bs.Bank, Entries: []SignedPolicy{e}}}}
				if _, err := one.Verify(pub); err == nil {
					br.Valid++
				}
			}
			matched := false
			for _, v := range pred.Values {
				if v.Bank != bs.Bank {
					continue
				}
				pol, err := PolicyPCRDigest(v.Bank, v.PCR)
				if err == nil && bytes.Equal(pol, e.Policy) && len(e.PCRs) == 1 && e.PCRs[0] == PCRKernelBoot {
					matched = true
					br.Phases = append(br.Phases, v.Phase.String())
				}
			}
			if !matched {
				br.Unmatched++
			}
		}
		r.Banks = append(r.Banks, br)
	}
	return r
}
