package main

import "github.com/nix-boot-security/nix-boot-security/pkg/cli"

// keysCommand is the "keys" group: Secure Boot keys, the organisation CA
// and keys kept in a TPM.
var keysCommand = cli.Command{
	Name:    "keys",
	Summary: "Secure Boot keys: an organisation CA and its certificates, keys in a TPM",
	Commands: []cli.Command{
		{Name: "ca", Summary: "an organisation CA: create it, issue machine certificates and sub-CAs", Commands: keysCACommands},
		{Name: "tpm", Summary: "signing keys kept in a TPM 2.0", Commands: keysTPMCommands},
	},
}
