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
	Error string `json:"error,omitempty"`
	Stub  int    `json:"stub_systemd_version,omitempty"`
	// Rules names the measuring rules used; Warning is set when they are
	// assumed (a stub newer than the newest known).
	Rules    string             `json:"rules,omitempty"`
	Warning  string             `json:"warning,omitempty"`
	Measured []string           `json:"measured_sections,omitempty"`
	Ignored  []string           `json:"unmeasured_sections,omitempty"`
	Values   []pcrValue         `json:"values,omitempty"`
	Sig      *measure.SigReport `json:"pcrsig,omitempty"`
	// Profiles holds each profile's prediction for a multi-profile UKI
	// (profile 0's is also the one above).
	Profiles []profilePCR `json:"profiles,omitempty"`
}

type profilePCR struct {
	Profile  int                `json:"profile"`
	Measured []string           `json:"measured_sections"`
	Values   []pcrValue         `json:"values"`
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
	preds, err := measure.PredictImageProfiles(f, banks, phases)
	if err != nil {
		pi.Error = err.Error()
		return pi, nil
	}
	pred := preds[0]
	pi.Stub = pred.Rules.Version
	pi.Rules = pred.Rules.String()
	pi.Warning = pred.Rules.Warning
	pi.Ignored = pred.Ignored
	pi.Measured = measuredSections(pred)
	pi.Values = pcrValues(pred)
	if sig != nil {
		pi.Sig = measure.CheckImagePCRSig(f, *sig, pred)
	}
	if len(preds) == 1 && !hasProfile(f) {
		return pi, nil
	}
	for i, p := range preds {
		pp := profilePCR{Profile: i, Measured: measuredSections(p), Values: pcrValues(p)}
		psig, err := measure.ReadImageProfilePCRSig(f, i)
		if err != nil {
			return nil, fmt.Errorf("profile %d: %w", i, err)
		}
		if psig != nil {
			pp.Sig = measure.CheckImagePCRSig(f, *psig, p)
		}
		pi.Profiles = append(pi.Profiles, pp)
	}
	return pi, nil
}

func hasProfile(f *pe.File) bool { return f.Section(".profile") != nil }

func measuredSections(pred *measure.Prediction) []string {
	var out []string
	for _, e := range pred.Events {
		if n := len(out); n == 0 || out[n-1] != e.Section {
			out = append(out, e.Section)
		}
	}
	return out
}

func pcrValues(pred *measure.Prediction) []pcrValue {
	var out []pcrValue
	for _, v := range pred.Values {
		out = append(out, pcrValue{Bank: v.Bank.String(), Phase: v.Phase.String(), PCR: v.Hex()})
	}
	return out
}

func printPCR(w io.Writer, pi *pcrInfo) {
	if pi.Error != "" {
		fmt.Fprintf(w, "PCR 11: no prediction: %s\n", pi.Error)
		return
	}
	fmt.Fprintf(w, "Measuring rules: %s\n", pi.Rules)
	if pi.Warning != "" {
		fmt.Fprintf(w, "Warning: %s\n", pi.Warning)
	}
	if len(pi.Profiles) == 0 {
		printValues(w, fmt.Sprintf("PCR 11 (systemd-stub %d", pi.Stub), pi.Measured, pi.Ignored, pi.Values)
		printSig(w, pi.Sig)
		return
	}
	for _, p := range pi.Profiles {
		printValues(w, fmt.Sprintf("PCR 11 of profile %d (systemd-stub %d", p.Profile, pi.Stub), p.Measured, nil, p.Values)
		printSig(w, p.Sig)
	}
}

func printValues(w io.Writer, title string, measured, ignored []string, values []pcrValue) {
	fmt.Fprintf(w, "%s measures %s", title, strings.Join(measured, " "))
	if len(ignored) > 0 {
		fmt.Fprintf(w, "; not %s", strings.Join(ignored, " "))
	}
	fmt.Fprintln(w, "):")
	width := 0
	for _, v := range values {
		width = max(width, len(v.Phase))
	}
	for _, v := range values {
		fmt.Fprintf(w, "  %-6s %-*s  %s\n", v.Bank, width, v.Phase, v.PCR)
	}
}

func printSig(w io.Writer, sig *measure.SigReport) {
	if sig == nil {
		fmt.Fprintln(w, "PCR signatures: none")
		return
	}
	fmt.Fprintln(w, "PCR signatures (.pcrsig):")
	if sig.KeyError != "" {
		fmt.Fprintf(w, "  cannot check signatures: %s\n", sig.KeyError)
	}
	for _, b := range sig.Banks {
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
