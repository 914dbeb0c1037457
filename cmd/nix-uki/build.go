package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
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
	if *doMeasure {
		if err := writePrediction(env, img.Prediction, *asJSON); err != nil {
			return err
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
