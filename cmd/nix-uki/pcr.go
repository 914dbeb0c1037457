package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// predictSpec predicts PCR 11 for the image spec describes. Sections are
// streamed from their files, so memory does not grow with their size.
func predictSpec(spec *uki.Spec, banks []measure.Bank, phases []measure.Phase) (*measure.Prediction, error) {
	rules, err := measure.RulesForStub(spec.StubInfo())
	if err != nil {
		return nil, cli.Usage(err)
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
			return nil, cli.Usage(err)
		}
		closers = append(closers, r)
		secs = append(secs, measure.Section{Name: s.Name, Data: r, Size: s.Size()})
	}
	p, err := measure.Predict(rules, secs, banks, phases)
	if err != nil {
		return nil, inputError(fmt.Errorf("predicting PCR 11: %w", err))
	}
	return p, nil
}

// predictImage predicts PCR 11 for an existing image: the sections its
// stub measures, VirtualSize bytes each, as the loader maps them.
func predictImage(f *pe.File, stub uki.StubInfo, banks []measure.Bank, phases []measure.Phase) (*measure.Prediction, error) {
	rules, err := measure.RulesForStub(stub)
	if err != nil {
		return nil, err
	}
	var secs []measure.Section
	for i := range f.Sections {
		s := &f.Sections[i]
		name := s.NameString()
		if !slices.Contains(uki.CanonicalOrder, name) {
			continue // the stub's own code and data
		}
		secs = append(secs, measure.Section{Name: name, Data: f.SectionReader(s), Size: int64(s.VirtualSize)})
	}
	return measure.Predict(rules, secs, banks, phases)
}

// signSpec signs the prediction for every key group and adds the merged
// signatures to spec as .pcrsig (compact JSON, systemd-measure's
// --json=short form, which the stub hands to the initrd as
// /.extra/tpm2-pcr-signature.json).
func signSpec(spec *uki.Spec, pred *measure.Prediction, groups []measure.KeyGroup) error {
	sig, err := measure.SignGroups(pred, groups)
	if err != nil {
		if errors.Is(err, measure.ErrNotRSA) || errors.Is(err, measure.ErrKeyMismatch) {
			return cli.Usage(err)
		}
		return fmt.Errorf("signing PCR policies: %w", err)
	}
	js, err := sig.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding .pcrsig: %w", err)
	}
	if err := spec.Add(uki.NewSection(uki.SectionPCRSig, js)); err != nil {
		return cli.Usage(err)
	}
	return nil
}

// writePrediction prints a prediction as systemd-measure calculate does:
// the "# PCR[11] Phase <...>" comments to stderr, the values to stdout; or
// with asJSON its --json=short form and a newline.
func writePrediction(env cli.Env, p *measure.Prediction, asJSON bool) error {
	if asJSON {
		b, err := p.MarshalJSON()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	}
	var buf bytes.Buffer
	if err := p.WriteText(&buf); err != nil {
		return err
	}
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		w := env.Stdout
		if bytes.HasPrefix(line, []byte("#")) {
			w = env.Stderr
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}
