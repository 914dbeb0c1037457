package main

import (
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// closureManifest reads and checks a closure manifest and returns the cpio
// archive that carries it and the boot check's settings (made from the
// nix-closure-verify.* words of cmdline) in the initrd, and the command-line
// parameter naming its digest (the contract lives in pkg/closure and
// pkg/bootcheck).
func closureManifest(path, cmdline string) (archive []byte, param kcmdline.Param, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, param, cli.Usagef("--closure-manifest: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, param, cli.Usagef("--closure-manifest: %s is not a regular file", path)
	}
	data, err := closure.ReadManifestFile(path)
	if err != nil {
		return nil, param, cli.Usagef("--closure-manifest: %w", err)
	}
	archive, param, err = bootcheck.InitrdArchive(data, cmdline)
	if err != nil {
		return nil, param, cli.Usagef("--closure-manifest %s: %w", path, err)
	}
	return archive, param, nil
}
