package measure

import (
	"encoding/hex"
	"fmt"
	"hash"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// Event is one extension of PCR 11, with the digest extended in each bank.
type Event struct {
	// Section is the section this event measures, or "" for a phase word.
	Section string
	// Word is the phase word this event measures, or "".
	Word string
	// Digests holds the digest extended into each bank.
	Digests map[Bank][]byte
}

// Value is the predicted PCR 11 of one bank after one phase path.
type Value struct {
	Bank  Bank
	Phase Phase
	PCR   []byte
}

// Hex returns the value in lower-case hex, the form of
// /sys/class/tpm/tpm0/pcr-<bank>/11 and systemd-measure's output.
func (v Value) Hex() string { return hex.EncodeToString(v.PCR) }

// Prediction is what PCR 11 holds after systemd-stub measured a UKI and
// systemd-pcrphase extended each phase path.
type Prediction struct {
	Rules Rules
	// Profile is the UKI profile predicted (0 for an image without
	// profiles, or profile 0 of one with them).
	Profile int
	Banks   []Bank
	Phases  []Phase
	// Events are the stub's extensions (two per measured section), common
	// to every phase path.
	Events []Event
	// Ignored lists the sections given that this stub version does not
	// measure (always .pcrsig; .uname and .sbat before 254 ...).
	Ignored []string
	// Values holds one entry per phase path (outer, in Phases order) and
	// bank (inner, in Banks order), as systemd-measure lists them.
	Values []Value
}

// Predict computes PCR 11 for each bank after each phase path, as the stub
// whose rules are given measures sections. Sections are read once each, in
// measuring order. No banks means AllBanks; no phases means
// DefaultPhases.
func Predict(rules Rules, sections []Section, banks []Bank, phases []Phase) (*Prediction, error) {
	if len(rules.Sections) == 0 {
		return nil, fmt.Errorf("%w: no measuring rules given", ErrUnknownStubVersion)
	}
	if len(banks) == 0 {
		banks = AllBanks
	}
	var bs []Bank
	for _, b := range banks {
		if !b.valid() {
			return nil, fmt.Errorf("%s: %w", b, ErrUnknownBank)
		}
		if !slices.Contains(bs, b) {
			bs = append(bs, b)
		}
	}
	if len(phases) == 0 {
		phases = DefaultPhases()
	}
	var ps []Phase
	for _, p := range phases {
		q, err := ParsePhase(string(p))
		if err != nil {
			return nil, err
		}
		if q != p {
			return nil, fmt.Errorf("phase path %q is not normalized (use ParsePhase)", string(p))
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}

	byName := map[string]Section{}
	pred := &Prediction{Rules: rules, Banks: bs, Phases: ps}
	for _, s := range sections {
		if _, dup := byName[s.Name]; dup {
			return nil, fmt.Errorf("%s: %w", s.Name, ErrDuplicateSection)
		}
		byName[s.Name] = s
		// .pcrsig holds the signatures of this very prediction, so no
		// stub measures it.
		if !rules.Measures(s.Name) {
			pred.Ignored = append(pred.Ignored, s.Name)
		}
	}

	pcr := map[Bank][]byte{}
	for _, b := range bs {
		pcr[b] = make([]byte, b.Size())
	}
	sawLinux := false
	for _, name := range rules.Sections {
		s, ok := byName[name]
		if !ok {
			continue
		}
		hs := make([]hash.Hash, len(bs))
		for i, b := range bs {
			hs[i] = b.Hash().New()
		}
		n, err := hashSection(s, hs)
		if err != nil {
			return nil, err
		}
		// The stub skips empty sections, and so does systemd-measure.
		if n == 0 {
			continue
		}
		if name == uki.SectionLinux {
			sawLinux = true
		}
		nameEv := Event{Section: name, Digests: map[Bank][]byte{}}
		dataEv := Event{Section: name, Digests: map[Bank][]byte{}}
		for i, b := range bs {
			// The name is measured with its NUL terminator.
			nameEv.Digests[b] = digest(b, append([]byte(name), 0))
			dataEv.Digests[b] = hs[i].Sum(nil)
		}
		pred.Events = append(pred.Events, nameEv, dataEv)
		for _, b := range bs {
			pcr[b] = extend(b, pcr[b], nameEv.Digests[b])
			pcr[b] = extend(b, pcr[b], dataEv.Digests[b])
		}
	}
	if !sawLinux {
		return nil, fmt.Errorf("%w: the stub boots nothing without a non-empty .linux", ErrNoLinux)
	}

	for _, p := range ps {
		for _, b := range bs {
			v := pcr[b]
			for _, w := range p.Words() {
				// Phase words are measured without a NUL.
				v = extend(b, v, digest(b, []byte(w)))
			}
			pred.Values = append(pred.Values, Value{Bank: b, Phase: p, PCR: v})
		}
	}
	return pred, nil
}

// Lookup returns the predicted PCR 11 of bank b after phase path p.
func (p *Prediction) Lookup(b Bank, ph Phase) ([]byte, bool) {
	for _, v := range p.Values {
		if v.Bank == b && v.Phase == ph {
			return slices.Clone(v.PCR), true
		}
	}
	return nil, false
}

// EventLog returns, for bank b, the digests to extend into a zeroed PCR 11
// to reach the value after phase path ph: the stub's events, then one per
// phase word. A TPM (or swtpm) extended with them holds the prediction.
func (p *Prediction) EventLog(b Bank, ph Phase) [][]byte {
	var log [][]byte
	for _, e := range p.Events {
		if d, ok := e.Digests[b]; ok {
			log = append(log, slices.Clone(d))
		}
	}
	for _, w := range ph.Words() {
		log = append(log, digest(b, []byte(w)))
	}
	return log
}

func digest(b Bank, data []byte) []byte {
	h := b.Hash().New()
	h.Write(data)
	return h.Sum(nil)
}

// extend returns H(pcr || d), the TPM2_PCR_Extend of one bank.
func extend(b Bank, pcr, d []byte) []byte {
	h := b.Hash().New()
	h.Write(pcr)
	h.Write(d)
	return h.Sum(nil)
}
