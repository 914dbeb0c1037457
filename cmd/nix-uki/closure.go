package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/cpio"
)

// Where the initrd's checker finds the manifest, and the command-line
// parameter that carries its digest (pkg/bootcheck reads both).
const (
	closureManifestDir  = "etc/nix-closure-verify"
	closureManifestPath = closureManifestDir + "/manifest"
	closureDigestParam  = "nix-closure-verify.digest"
)

// maxManifest bounds the manifest read into memory: it is a few hundred
// bytes per store path, so even a huge closure stays far below this.
const maxManifest = 256 << 20

// closureManifest reads and checks a closure manifest and returns the cpio
// archive that puts it at /etc/nix-closure-verify/manifest and the
// command-line parameter naming its digest.
func closureManifest(path string) (archive []byte, param string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", cli.Usagef("--closure-manifest: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "", cli.Usagef("--closure-manifest: %s is not a regular file", path)
	}
	if fi.Size() > maxManifest {
		return nil, "", cli.Usagef("--closure-manifest: %s is larger than %d bytes", path, maxManifest)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", cli.Usagef("--closure-manifest: %w", err)
	}
	if _, err := closure.ParseManifest(data); err != nil {
		return nil, "", cli.Usagef("--closure-manifest %s: %w", path, err)
	}
	var a cpio.Archive
	for _, step := range []error{
		a.AddDir("etc", 0o755),
		a.AddDir(closureManifestDir, 0o755),
		a.AddBytes(closureManifestPath, 0o444, data),
	} {
		if step != nil {
			return nil, "", fmt.Errorf("closure manifest archive: %w", step)
		}
	}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("closure manifest archive: %w", err)
	}
	return buf.Bytes(), closureDigestParam + "=" + closure.DigestOf(data).String(), nil
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
