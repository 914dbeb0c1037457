package cli

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version, when set at link time, is the version --version prints. Builds
// that carry no module or VCS information (a Nix derivation built from a
// source tarball) set it:
//
//	go build -ldflags "-X github.com/nix-boot-security/nix-boot-security/pkg/cli.version=v1.2.0" ./cmd/...
var version string

// Version returns the running binary's version: the value set at link time
// if any, else the main module's version the go command recorded in the
// build information: the tag for `go install ...@v1.2.0`, a pseudo-version
// naming the commit (with "+dirty" for uncommitted changes) for a build in a
// git checkout, "(devel)" when it knew neither.
func Version() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// printVersion writes the one line --version prints: the tool, its version
// and the Go release that built it.
func printVersion(w io.Writer, tool string) {
	goVersion := "go-unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	fmt.Fprintf(w, "%s %s %s\n", tool, Version(), goVersion)
}
