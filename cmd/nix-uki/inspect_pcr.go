package main

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// pcrInfo is inspect's measured-boot part: the predicted PCR 11 values and
// what the image's .pcrsig signs.
type pcrInfo struct {
	// Error says why there is no prediction (unknown stub version ...).
	Error    string              `json:"error,omitempty"`
	Stub     int                 `json:"stub_systemd_version,omitempty"`
	Measured []string            `json:"measured_sections,omitempty"`
	Ignored  []string            `json:"unmeasured_sections,omitempty"`
	Values   []pcrValue          `json:"values,omitempty"`
	Sig      *pcrSigInfo         `json:"pcrsig,omitempty"`
	pred     *measure.Prediction // for the text form
}

type pcrValue struct {
	Bank  string `json:"bank"`
	Phase string `json:"phase"`
	PCR   string `json:"pcr11"`
}

// pcrSigInfo summarises a .pcrsig, per bank.
type pcrSigInfo struct {
	// KeyError says why the .pcrpkey could not be used to check entries.
	KeyError string       `json:"pcrpkey_error,omitempty"`
	Banks    []pcrSigBank `json:"banks"`
}

type pcrSigBank struct {
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

// inspectPCR predicts PCR 11 for the image and checks its .pcrsig. Only a
// .pcrsig that is not systemd's JSON is an error (exit status 2); what
// cannot be predicted is reported in Error.
func inspectPCR(f *pe.File, info *uki.Info, banks []measure.Bank, phases []measure.Phase) (*pcrInfo, error) {
	pi := &pcrInfo{}
	var sig *measure.PCRSig
	if s := f.Section(uki.SectionPCRSig); s != nil {
		b, err := f.SectionData(s, 16<<20)
		if err != nil {
			return nil, err
		}
		parsed, err := measure.ParsePCRSig(b)
		if err != nil {
			return nil, fmt.Errorf(".pcrsig: %w", err)
		}
		sig = &parsed
	}
	pred, err := predictImage(f, info.Stub, banks, phases)
	if err != nil {
		pi.Error = err.Error()
		return pi, nil
	}
	pi.pred = pred
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
		pi.Sig = checkPCRSig(f, *sig, pred)
	}
	return pi, nil
}

// checkPCRSig matches each entry of sig with the predicted policies of the
// image and checks it against the image's .pcrpkey.
func checkPCRSig(f *pe.File, sig measure.PCRSig, pred *measure.Prediction) *pcrSigInfo {
	si := &pcrSigInfo{Banks: []pcrSigBank{}}
	var pub crypto.PublicKey
	var fp []byte
	if s := f.Section(uki.SectionPCRPKey); s == nil {
		si.KeyError = "no .pcrpkey"
	} else if b, err := f.SectionData(s, 1<<20); err != nil {
		si.KeyError = err.Error()
	} else if pub, err = keys.ParsePublicKey(bytes.TrimRight(b, "\x00")); err != nil {
		si.KeyError = ".pcrpkey: " + err.Error()
	} else if fp, err = measure.Fingerprint(pub); err != nil {
		si.KeyError = ".pcrpkey: " + err.Error()
		pub = nil
	}
	for _, bs := range sig.Banks {
		sb := pcrSigBank{Bank: bs.Bank.String(), Entries: len(bs.Entries), Phases: []string{}}
		for _, e := range bs.Entries {
			if pub != nil && bytes.Equal(e.KeyFingerprint, fp) {
				sb.ByPCRPKey++
				one := measure.PCRSig{Banks: []measure.BankSignatures{{Bank: bs.Bank, Entries: []measure.SignedPolicy{e}}}}
				if _, err := one.Verify(pub); err == nil {
					sb.Valid++
				}
			}
			matched := false
			for _, v := range pred.Values {
				if v.Bank != bs.Bank {
					continue
				}
				pol, err := measure.PolicyPCRDigest(v.Bank, v.PCR)
				if err == nil && bytes.Equal(pol, e.Policy) && len(e.PCRs) == 1 && e.PCRs[0] == measure.PCRKernelBoot {
					matched = true
					sb.Phases = append(sb.Phases, v.Phase.String())
				}
			}
			if !matched {
				sb.Unmatched++
			}
		}
		si.Banks = append(si.Banks, sb)
	}
	return si
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
