package measure

import (
	"bytes"
	"crypto"
	"fmt"
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
// the stub its .sdmagic names: the sections that stub measures,
// VirtualSize bytes each, as the loader maps them. An image whose sections
// claim more zero padding than the file could justify is refused
// (uki.ErrVirtualSize) before anything is hashed, so the work is bounded
// by the file's size.
func PredictImage(f *pe.File, banks []Bank, phases []Phase) (*Prediction, error) {
	stub, err := uki.ReadStubInfo(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoStubVersion, err)
	}
	rules, err := RulesForStub(stub)
	if err != nil {
		return nil, err
	}
	if err := uki.CheckVirtualSizes(f); err != nil {
		return nil, err
	}
	var secs []Section
	for i := range f.Sections {
		s := &f.Sections[i]
		name := s.NameString()
		if !slices.Contains(uki.CanonicalOrder, name) {
			continue // the stub's own code and data
		}
		secs = append(secs, Section{Name: name, Data: f.SectionReader(s), Size: int64(s.VirtualSize)})
	}
	return Predict(rules, secs, banks, phases)
}

// ReadImagePCRSig parses an image's .pcrsig; nil when it has none. A
// .pcrsig that is not systemd's JSON wraps ErrInvalidPCRSig.
func ReadImagePCRSig(f *pe.File) (*PCRSig, error) {
	s := f.Section(uki.SectionPCRSig)
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
