package measure

import (
	"crypto"
	"fmt"
	"slices"
)

// KeyGroup is one --pcr-private-key [--pcr-public-key] [--phases] group of
// ukify: a key and the phase paths it signs.
type KeyGroup struct {
	Key    crypto.Signer
	Public crypto.PublicKey // nil: the key's own
	Phases []Phase          // nil: DefaultPhases
}

// GroupPhases returns the phase paths a prediction must cover to sign all
// groups: the union, sorted, as ukify passes every phase to one
// systemd-measure calculate.
func GroupPhases(groups []KeyGroup) []Phase {
	var all []Phase
	for _, g := range groups {
		ps := g.Phases
		if len(ps) == 0 {
			ps = DefaultPhases()
		}
		all = append(all, ps...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// Select returns the prediction restricted to the given phase paths, in
// their sorted order (systemd-measure's); each must be in p.
func (p *Prediction) Select(phases []Phase) (*Prediction, error) {
	ps := slices.Clone(phases)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	q := *p
	q.Phases = ps
	q.Values = nil
	for _, ph := range ps {
		if !slices.Contains(p.Phases, ph) {
			return nil, fmt.Errorf("phase path %s is not in the prediction", ph)
		}
		for _, v := range p.Values {
			if v.Phase == ph {
				q.Values = append(q.Values, v)
			}
		}
	}
	return &q, nil
}

// SignGroups signs p for each group, with that group's phase paths (which
// p must cover, see GroupPhases), and merges the results with Combine: the
// .pcrsig ukify builds from several keys and phase groups.
func SignGroups(p *Prediction, groups []KeyGroup) (PCRSig, error) {
	var sigs []PCRSig
	for i, g := range groups {
		ps := g.Phases
		if len(ps) == 0 {
			ps = DefaultPhases()
		}
		sub, err := p.Select(ps)
		if err != nil {
			return PCRSig{}, fmt.Errorf("key group %d: %w", i+1, err)
		}
		s, err := Sign(g.Key, g.Public, sub)
		if err != nil {
			return PCRSig{}, fmt.Errorf("key group %d: %w", i+1, err)
		}
		sigs = append(sigs, s)
	}
	return Combine(sigs...), nil
}
