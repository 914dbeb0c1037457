// Command nix-uki builds, signs, verifies, measures and inspects Unified
// Kernel Images.
package main

import (
	"context"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

const toolName = "nix-uki"

var tool = &cli.Tool{
	Name:    toolName,
	Summary: "build, sign, verify and inspect Unified Kernel Images",
	Commands: []cli.Command{
		{Name: "build", Summary: "assemble a UKI from a systemd-stub, a kernel and payloads (and sign it)", Run: runBuild},
		{Name: "measure", Summary: "predict an image's PCR 11 values and sign TPM2 policies for them", Run: runMeasure},
		{Name: "sign", Summary: "sign a PE image with Authenticode (SHA-256)", Run: runSign},
		{Name: "verify", Summary: "verify an image's Authenticode signatures against certificates", Run: runVerify},
		{Name: "install", Summary: "install every NixOS generation onto the ESP as signed UKIs behind systemd-boot", Run: runInstall},
		{Name: "inspect", Summary: "show an image's sections, metadata and signatures", Run: runInspect},
		keysCommand,
		{Name: "iso", Summary: "build a hybrid Secure Boot ISO: shim, the signed UKI, the store image and its dm-verity tree", Run: runISO},
	},
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return tool.Main(ctx, cli.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}, args)
}
