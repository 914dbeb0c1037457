package ukibuild

import (
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// predict computes PCR 11 for each profile of the image spec describes
// (one prediction without profiles), with the rules of its stub. Sections
// are streamed from their files, so memory does not grow with their size.
func predict(spec *uki.Spec, p PCR) ([]*measure.Prediction, error) {
	rules, err := measure.RulesForImage(spec.StubFile())
	if err != nil {
		return nil, err
	}
	phases := p.Phases
	if len(phases) == 0 && len(p.Groups) > 0 {
		phases = measure.GroupPhases(p.Groups)
	}
	var preds []*measure.Prediction
	for i := range max(1, spec.Profiles()) {
		pred, err := predictOne(spec.ProfileSections(i), rules, p.Banks, phases)
		if err != nil {
			if spec.Profiles() > 0 {
				return nil, fmt.Errorf("profile %d: %w", i, err)
			}
			return nil, err
		}
		pred.Profile = i
		preds = append(preds, pred)
	}
	return preds, nil
}

func predictOne(sections []uki.Section, rules measure.Rules, banks []measure.Bank, phases []measure.Phase) (*measure.Prediction, error) {
	var secs []measure.Section
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, s := range sections {
		r, err := s.Open()
		if err != nil {
			return nil, err
		}
		closers = append(closers, r)
		secs = append(secs, measure.Section{Name: s.Name, Data: r, Size: s.Size()})
	}
	pred, err := measure.Predict(rules, secs, banks, phases)
	if err != nil {
		return nil, fmt.Errorf("predicting PCR 11: %w", err)
	}
	return pred, nil
}
