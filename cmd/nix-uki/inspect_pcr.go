package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// pcrInfo is inspect's measured-boot part: the predicted PCR 11 values and
// what the image's .pcrsig signs.
type pcrInfo struct {
	// Error says why there is no prediction (unknown stub version ...).
	Error    string             `json:"error,omitempty"`
	Stub     int                `json:"stub_systemd_version,omitempty"`
	Measured []string           `json:"measured_sections,omitempty"`
	Ignored  []string           `json:"unmeasured_sections,omitempty"`
	Values   []pcrValue         `json:"values,omitempty"`
	Sig      *measure.SigReport `json:"pcrsig,omitempty"`
}

type pcrValue struct {
	Bank  string `json:"bank"`
	Phase string `json:"phase"`
	PCR   string `json:"pcr11"`
}

// inspectPCR predicts PCR 11 for the image and checks its .pcrsig. Only a
// .pcrsig that is not systemd's JSON is an error (exit status 2); what
// cannot be predicted is reported in Error.
func inspectPCR(f *pe.File, banks []measure.Bank, phases []measure.Phase) (*pcrInfo, error) {
	pi := &pcrInfo{}
	sig, err := measure.ReadImagePCRSig(f)
	if err != nil {
		return nil, err
	}
	pred, err := measure.PredictImage(f, banks, phases)
	if err != nil {
		pi.Error = err.Error()
		return pi, nil
	}
	pi.Stub = pred.Rules.Version
	pi.Ignored = pred.Ignored
	for _, e := range pred.Events {
		if n := len(pi.Measured); n == 0 || pi.Measured[n-1] != e.Section {
			pi.Measured = append(pi.Measured, e.Section)
		}
	}
	for _, v := range pred.Values {
		pi.Values = append(pi.Values, pcrValue{Bank: v.Bank.String(), Phase: v.Phase.String(), PCR: v.Hex()})
	}
	if sig != nil {
		pi.Sig = measure.CheckImagePCRSig(f, *sig, pred)
	}
	return pi, nil
}

func printPCR(w io.Writer, pi *pcrInfo) {
	if pi.Error != "" {
		fmt.Fprintf(w, "PCR 11: no prediction: %s\n", pi.Error)
		return
	}
	fmt.Fprintf(w, "PCR 11 (systemd-stub %d measures %s", pi.Stub, strings.Join(pi.Measured, " "))
	if len(pi.Ignored) > 0 {
		fmt.Fprintf(w, "; not %s", strings.Join(pi.Ignored, " "))
	}
	fmt.Fprintln(w, "):")
	width := 0
	for _, v := range pi.Values {
		width = max(width, len(v.Phase))
	}
	for _, v := range pi.Values {
		fmt.Fprintf(w, "  %-6s %-*s  %s\n", v.Bank, width, v.Phase, v.PCR)
	}
	if pi.Sig == nil {
		fmt.Fprintln(w, "PCR signatures: none")
		return
	}
	fmt.Fprintln(w, "PCR signatures (.pcrsig):")
	if pi.Sig.KeyError != "" {
		fmt.Fprintf(w, "  cannot check signatures: %s\n", pi.Sig.KeyError)
	}
	for _, b := range pi.Sig.Banks {
		fmt.Fprintf(w, "  %-6s %d entries, %d by .pcrpkey, %d valid", b.Bank, b.Entries, b.ByPCRPKey, b.Valid)
		if len(b.Phases) > 0 {
			fmt.Fprintf(w, "; sign this image's PCR 11 after %s", strings.Join(b.Phases, ", "))
		}
		if b.Unmatched > 0 {
			fmt.Fprintf(w, "; %d sign no state predicted here", b.Unmatched)
		}
		fmt.Fprintln(w)
	}
}

// inspectPhases are the phase paths inspect predicts by default: the state
// right after the stub (what an initrd without systemd sees) and
// systemd-measure's four.
func inspectPhases() []measure.Phase {
	return append([]measure.Phase{""}, measure.DefaultPhases()...)
}

// pcrsigError marks a bad .pcrsig as an input error naming the image.
func pcrsigError(image string, err error) error {
	if errors.Is(err, measure.ErrInvalidPCRSig) {
		return cli.Usage(fmt.Errorf("%s: %w", image, err))
	}
	return inputError(fmt.Errorf("%s: %w", image, err))
}
