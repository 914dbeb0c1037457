package main

import (
	"bytes"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
)

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
