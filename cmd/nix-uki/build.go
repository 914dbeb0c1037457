package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

func runBuild(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "build", "--linux KERNEL [options] --output UKI",
		`Assemble a Unified Kernel Image: the systemd-stub with the kernel, initrds,
command line, os-release and other payloads appended as sections, in the
stub's canonical order, with the stub's, kernel's and given SBAT merged into
one .sbat. Option names are ukify's. Any TEXT may be given as @PATH.
With --secureboot-private-key and --secureboot-certificate the image is
signed (Authenticode, SHA-256) in the same pass. The same inputs always give
the same bytes.
`+sbatHelp+`
`+closureHelp+`

With --pcr-private-key the PCR 11 values the image's stub will produce are
predicted and a TPM2 PolicyPCR for each bank and phase path is signed, as
systemd-measure sign does; the signatures go into .pcrsig (JSON) and, with
one key, its public key into .pcrpkey (measured, so it is part of the
prediction). --measure prints the prediction as "nix-uki measure" does.

Profiles (systemd-stub 257 and later): --profile TEXT is profile 0's
.profile, and each --join-profile PE adds a profile whose sections replace
the base's, laid out as ukify does (the shared sections, then each
.profile with its sections and its own .pcrsig). The stub boots profile 0
unless started with "@N" (systemd-boot makes an entry per profile).
Without --linux, --profile makes a profile PE for --join-profile, as ukify
does: the stub with .profile first, then the --cmdline, --os-release,
--uname and --initrd given (the sections that profile replaces).
`+pcrHelp+`
`+keyHelp)
	var sf sectionFlags
	sf.register(fs)
	var pf pcrFlags
	pf.register(fs)
	doMeasure := fs.Bool("measure", false, "print the predicted PCR 11 values (systemd-measure calculate's text) on stdout")
	asJSON := fs.Bool("json", false, "with --measure, print them as JSON")
	sbKey := fs.String("secureboot-private-key", "", "sign with this private `KEY` (a file, pkcs11: URI or tpm: reference)")
	sbCert := fs.String("secureboot-certificate", "", "signing certificate `PATH` (PEM; more certificates after it are embedded)")
	output := fs.String("output", "", "write the UKI to `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("build: unexpected argument %q", fs.Arg(0))
	}
	if sf.linux == "" && sf.profile != "" {
		// A profile PE is neither signed nor measured: the UKI joining it is.
		for _, name := range []string{"measure", "json", "secureboot-private-key", "secureboot-certificate",
			"pcr-private-key", "pcr-public-key", "pcr-banks", "phases"} {
			if fs.Changed(name) {
				return cli.Usagef("build: --%s does not go with a profile PE (--profile without --linux)", name)
			}
		}
		return buildProfile(env, &sf, *output)
	}
	if sf.linux == "" {
		return cli.Usagef("build: --linux is required")
	}
	if *output == "" {
		return cli.Usagef("build: --output is required")
	}
	if (*sbKey == "") != (*sbCert == "") {
		return cli.Usagef("build: --secureboot-private-key and --secureboot-certificate go together")
	}
	if *asJSON && !*doMeasure {
		return cli.Usagef("build: --json goes with --measure")
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
	in.PCR = pcr.pcr(*doMeasure)
	if *sbKey != "" {
		signer, key, err := loadSigner(ctx, env.Stderr, *sbKey, *sbCert)
		if err != nil {
			return err
		}
		defer key.Close()
		in.SigningKey, in.Certificates = signer.Key, signer.Chain
	}
	img, err := ukibuild.Compose(in)
	if err != nil {
		return composeError(err)
	}
	warnRules(env, img)
	if *doMeasure {
		preds := []*measure.Prediction{img.Prediction}
		if len(img.Profiles) > 0 {
			preds = preds[:0]
			for _, p := range img.Profiles {
				preds = append(preds, p.Prediction)
			}
		}
		for i, p := range preds {
			if len(img.Profiles) > 0 {
				fmt.Fprintf(env.Stderr, "# Profile %d\n", i)
			}
			if err := writePrediction(env, p, *asJSON); err != nil {
				return err
			}
		}
	}
	err = writeOutput(*output, func(out authenticode.Output) error {
		_, err := img.WriteTo(out)
		return err
	})
	if err != nil {
		return inputError(fmt.Errorf("building %s: %w", *output, err))
	}
	return nil
}

// buildProfile writes a profile PE: --profile without --linux.
func buildProfile(env cli.Env, sf *sectionFlags, output string) error {
	if output == "" {
		return cli.Usagef("build: --output is required")
	}
	stub, p, err := sf.profileInputs()
	if err != nil {
		return err
	}
	img, err := ukibuild.ComposeProfile(stub, p)
	if err != nil {
		return composeError(err)
	}
	err = writeOutput(output, func(out authenticode.Output) error {
		_, err := img.WriteTo(out)
		return err
	})
	if err != nil {
		return inputError(fmt.Errorf("building %s: %w", output, err))
	}
	return nil
}
