package main

import (
	"bytes"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

// closureManifest reads and checks a closure manifest and returns the cpio
// archive that carries it in the initrd and the command-line parameter
// naming its digest (the contract lives in pkg/closure).
func closureManifest(path string) (archive []byte, param string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", cli.Usagef("--closure-manifest: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "", cli.Usagef("--closure-manifest: %s is not a regular file", path)
	}
	data, err := closure.ReadManifestFile(path)
	if err != nil {
		return nil, "", cli.Usagef("--closure-manifest: %w", err)
	}
	archive, param, err = closure.InitrdArchive(data)
	if err != nil {
		return nil, "", cli.Usagef("--closure-manifest %s: %w", path, err)
	}
	return archive, param, nil
}

// appendParam adds a parameter to a command line, after dropping the
// line's trailing white space and NULs (a --cmdline @FILE usually ends in a
// newline, which would otherwise sit inside the line).
func appendParam(cmdline []byte, param string) []byte {
	c := bytes.TrimRight(cmdline, " \t\r\n\x00")
	if len(c) == 0 {
		return []byte(param)
	}
	return append(append(append([]byte{}, c...), ' '), param...)
}

// hasParam reports whether the command line sets key (key=... or bare).
func hasParam(cmdline []byte, key string) bool {
	for _, f := range strings.Fields(string(cmdline)) {
		if k, _, _ := strings.Cut(f, "="); k == key {
			return true
		}
	}
	return false
}
