package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

func runMeasure(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "measure", "--linux KERNEL [options]",
		`Predict the PCR 11 values systemd-stub will produce for the image that
"nix-uki build" makes from the same options (the section options are
build's, .sbat merging and the .uname default included), after each phase
path, as "systemd-measure calculate" prints them: "11:<bank>=<hex>" lines on
stdout, a "# PCR[11] Phase <path>" comment before each phase on stderr; with
--json its --json=short form.
With --pcr-private-key, print instead the signed policies (the .pcrsig
build would embed), as "systemd-measure sign --json=short" does.
With profiles (--profile, --join-profile), each profile's, after a
"# Profile N" line on stderr.
`+sbatHelp+`
`+closureHelp+`
`+pcrHelp+`
`+keyHelp)
	var sf sectionFlags
	sf.register(fs)
	var pf pcrFlags
	pf.register(fs)
	asJSON := fs.Bool("json", false, "print the prediction as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("measure: unexpected argument %q", fs.Arg(0))
	}
	if sf.linux == "" {
		return cli.Usagef("measure: --linux is required")
	}
	pcr, err := pf.load(ctx, env.Stderr)
	if err != nil {
		return err
	}
	defer pcr.Close()
	in, err := sf.inputs()
	if err != nil {
		return err
	}
	in.PCR = pcr.pcr(true)
	img, err := ukibuild.Compose(in)
	if err != nil {
		return composeError(err)
	}
	warnRules(env, img)
	if len(img.Profiles) == 0 {
		return writeMeasured(env, img.Prediction, img.PCRSig, *asJSON)
	}
	for i, p := range img.Profiles {
		fmt.Fprintf(env.Stderr, "# Profile %d\n", i)
		if err := writeMeasured(env, p.Prediction, p.PCRSig, *asJSON); err != nil {
			return err
		}
	}
	return nil
}

// writeMeasured prints a prediction, or with key groups the signed
// policies.
func writeMeasured(env cli.Env, pred *measure.Prediction, sig *measure.PCRSig, asJSON bool) error {
	if sig == nil {
		return writePrediction(env, pred, asJSON)
	}
	js, err := sig.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", js)
	return err
}

// warnRules prints the warning of assumed measuring rules (a stub newer
// than the newest known).
func warnRules(env cli.Env, img *ukibuild.UKI) {
	if img.Prediction != nil && img.Prediction.Rules.Warning != "" {
		fmt.Fprintf(env.Stderr, "%s: warning: %s\n", toolName, img.Prediction.Rules.Warning)
	}
}
