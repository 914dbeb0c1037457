package ukibuild

import (
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// predict computes PCR 11 for the image spec describes, with the rules of
// its stub's version. Sections are streamed from their files, so memory
// does not grow with their size.
func predict(spec *uki.Spec, p PCR) (*measure.Prediction, error) {
	rules, err := measure.RulesForStub(spec.StubInfo())
	if err != nil {
		return nil, err
	}
	phases := p.Phases
	if len(phases) == 0 && len(p.Groups) > 0 {
		phases = measure.GroupPhases(p.Groups)
	}
	var secs []measure.Section
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, s := range spec.Ordered() {
		r, err := s.Open()
		if err != nil {
			return nil, err
		}
		closers = append(closers, r)
		secs = append(secs, measure.Section{Name: s.Name, Data: r, Size: s.Size()})
	}
	pred, err := measure.Predict(rules, secs, p.Banks, phases)
	if err != nil {
		return nil, fmt.Errorf("predicting PCR 11: %w", err)
	}
	return pred, nil
}
