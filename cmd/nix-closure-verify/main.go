// Command nix-closure-verify records a NixOS system closure's NAR hashes at
// build time and checks a store against them at boot.
package main

import (
	"context"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

const toolName = "nix-closure-verify"

func tool() *cli.Tool {
	return &cli.Tool{
		Name:    toolName,
		Summary: "record a Nix closure's NAR hashes and check a store against them",
		Commands: []cli.Command{
			manifestCommand(),
			checkCommand(),
			imageCommand(),
			bootCommand(),
			fsverityCommand(),
		},
	}
}

func main() {
	env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(tool().Main(context.Background(), env, os.Args[1:]))
}
