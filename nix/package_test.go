package nix

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
)

// nix/package.nix handed to a stand-in buildGo126Module that returns its
// arguments: what buildGoModule is asked to do. (Its src, a lib.fileset,
// needs Nix 2.14 or newer and is not evaluated here.)
func TestPackageExpression(t *testing.T) {
	lib := nixeval.Lib(t)
	out := nixeval.MustEval(t, "-E", `let
		p = import ./nix/package.nix { lib = import `+lib+`; buildGo126Module = a: a; version = "1.2.3"; };
	in { inherit (p) pname version vendorHash subPackages ldflags postBuild doCheck installCheckPhase; inherit (p.meta) description mainProgram platforms; }`)
	var p struct {
		Pname, Version, VendorHash, PostBuild, InstallCheckPhase, Description, MainProgram string
		SubPackages, Ldflags, Platforms                                                    []string
		DoCheck                                                                            bool
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	if p.Pname != "nix-boot-security" || p.Version != "1.2.3" || p.MainProgram != "nix-uki" || p.Description == "" {
		t.Errorf("package %+v", p)
	}
	if strings.Join(p.SubPackages, " ") != "cmd/nix-uki" ||
		!strings.Contains(p.PostBuild, "CGO_ENABLED=0 go build") || !strings.Contains(p.PostBuild, "./cmd/nix-closure-verify") {
		t.Errorf("nix-uki from subPackages and a static nix-closure-verify from postBuild: %q, %q", p.SubPackages, p.PostBuild)
	}
	// The version the flake passes reaches --version.
	if !strings.Contains(strings.Join(p.Ldflags, " "), "-X github.com/nix-boot-security/nix-boot-security/pkg/cli.version=1.2.3") {
		t.Errorf("ldflags %q do not set the version", p.Ldflags)
	}
	if !strings.Contains(p.InstallCheckPhase, "ld-linux") {
		t.Errorf("the install check does not refuse a dynamic nix-closure-verify:\n%s", p.InstallCheckPhase)
	}
	for _, want := range []string{"x86_64-linux", "aarch64-linux"} {
		if !strings.Contains(strings.Join(p.Platforms, " "), want) {
			t.Errorf("platforms %q lack %s", p.Platforms, want)
		}
	}
}

// package.nix's source holds go.mod, go.sum and the non-test .go files of
// cmd, pkg and internal, nothing else: a package the commands build may not
// embed other files (//go:embed), or the Nix build would miss them.
func TestPackageSourceHasWhatTheBuildReads(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.ImportPath}} {{join .EmbedFiles ","}}{{end}}{{end}}`,
		"./cmd/nix-uki", "./cmd/nix-closure-verify")
	cmd.Dir = nixeval.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if pkg, files, _ := strings.Cut(line, " "); files != "" {
			t.Errorf("%s embeds %s, which nix/package.nix's fileset leaves out: add them there", pkg, files)
		}
	}
}
