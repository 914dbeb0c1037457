package ukibuild

import (
	"fmt"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// embedManifest applies the closure manifest's contract (pkg/closure,
// pkg/bootcheck) to an image's inputs: it reads and checks the manifest at
// path and returns the cpio archive to append after the initrds (the
// manifest and the boot check's settings, made from the nix-closure-verify.*
// words of cmdline) and the command line with the digest parameter added. kcmdline.Append proves the parameter survives the
// kernel's parsing of the line (an unbalanced quote in cmdline would
// swallow it), so an image built to check its store always carries the
// digest its check needs.
func embedManifest(path string, cmdline []byte) (archive, line []byte, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, inputErr("closure-manifest", "", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, inputErr("closure-manifest", path, fmt.Errorf("not a regular file"))
	}
	data, err := closure.ReadManifestFile(path)
	if err != nil {
		return nil, nil, inputErr("closure-manifest", "", err)
	}
	archive, param, err := bootcheck.InitrdArchive(data, string(cmdline))
	if err != nil {
		return nil, nil, inputErr("closure-manifest", path, err)
	}
	s, err := kcmdline.Append(string(cmdline), param)
	if err != nil {
		return nil, nil, inputErr("cmdline", "", fmt.Errorf("with closure-manifest: %w", err))
	}
	return archive, []byte(s), nil
}
