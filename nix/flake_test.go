package nix

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// flake.nix's outputs, evaluated with a stand-in nixpkgs input (nixpkgs'
// lib and the stubs): the outputs a user and CI rely on exist, the overlay
// adds the package, and nixosModules.default evaluates with the flake's own
// package.
func TestFlakeOutputs(t *testing.T) {
	lib := nixeval.Lib(t)
	var got struct {
		Inputs           map[string]string   `json:"inputs"`
		Outputs          []string            `json:"outputs"`
		Packages         map[string][]string `json:"packages"`
		Checks           map[string][]string `json:"checks"`
		Formatter        []string            `json:"formatter"`
		Overlay          []string            `json:"overlay"`
		ModuleAssertions []string            `json:"moduleAssertions"`
		ModuleHook       string              `json:"moduleHook"`
		ModuleConfig     string              `json:"moduleConfig"`
		VMTests          map[string]struct {
			Name           string `json:"name"`
			TestScript     string `json:"testScript"`
			MachineImports int    `json:"machineImports"`
		} `json:"vmTests"`
	}
	out := nixeval.MustEval(t, "nix/testdata/eval-flake.nix", "--arg", "lib", "import "+lib)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	check := func(what string, have, want any) {
		t.Helper()
		if !reflect.DeepEqual(have, want) {
			t.Errorf("%s: %v, want %v", what, have, want)
		}
	}
	check("inputs", got.Inputs, map[string]string{"nixpkgs": "github:NixOS/nixpkgs/nixos-unstable"})
	check("outputs", got.Outputs, []string{"checks", "formatter", "nixosModules", "overlays", "packages"})
	pkgs := []string{"default", "nix-boot-security"}
	check("packages", got.Packages, map[string][]string{"aarch64-linux": pkgs, "x86_64-linux": pkgs})
	check("checks", got.Checks, map[string][]string{"x86_64-linux": {
		"measured-boot", "package", "rollback", "secure-boot", "specialisation", "tampered-store"}})
	check("formatter", got.Formatter, []string{"aarch64-linux", "x86_64-linux"})
	check("overlay", got.Overlay, []string{"nix-boot-security"})
	check("nixosModules.default assertions", got.ModuleAssertions, []string{})
	// The module takes the flake's package (versioned from the flake), not
	// its own default.
	if !strings.Contains(got.ModuleHook, "-nix-boot-security-0.1.0+dirty/bin/nix-uki install --config ") {
		t.Errorf("nixosModules.default's install hook:\n%s", got.ModuleHook)
	}
	if !json.Valid([]byte(got.ModuleConfig)) {
		t.Errorf("nixosModules.default's install configuration is not JSON:\n%s", got.ModuleConfig)
	}

	// The VM tests cannot run here; their machines import the module and
	// their scripts are at least valid Python.
	python := peer.Tool(t, "python3")
	for name, vt := range got.VMTests {
		if vt.Name != "nix-boot-security-"+name || vt.MachineImports != 3 {
			t.Errorf("check %s: test %q with %d imports", name, vt.Name, vt.MachineImports)
		}
		cmd := exec.Command(python, "-c", "import sys; compile(sys.stdin.read(), sys.argv[1], 'exec')", name)
		cmd.Stdin = strings.NewReader(vt.TestScript)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("check %s: the test script is not Python: %v\n%s", name, err, out)
		}
	}
	if len(got.VMTests) != 5 {
		t.Errorf("%d VM tests", len(got.VMTests))
	}
}

// flake.lock pins every input of flake.nix to a revision and its NAR hash
// (written by hand where nix cannot fetch; `nix flake lock` checks it).
func TestFlakeLock(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(nixeval.Root(), "flake.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Version int    `json:"version"`
		Root    string `json:"root"`
		Nodes   map[string]struct {
			Inputs map[string]string `json:"inputs"`
			Locked *struct {
				Type, Owner, Repo, Rev, NarHash string
				LastModified                    int64
			} `json:"locked"`
			Original *struct{ Type, Owner, Repo, Ref string } `json:"original"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatal(err)
	}
	if lock.Version != 7 || lock.Root != "root" {
		t.Fatalf("lock version %d, root %q", lock.Version, lock.Root)
	}
	inputs := lock.Nodes["root"].Inputs
	if !reflect.DeepEqual(inputs, map[string]string{"nixpkgs": "nixpkgs"}) {
		t.Fatalf("root inputs %v", inputs)
	}
	n := lock.Nodes["nixpkgs"]
	if n.Locked == nil || n.Original == nil {
		t.Fatal("nixpkgs is not locked")
	}
	l, o := n.Locked, n.Original
	if l.Type != "github" || l.Owner != "NixOS" || l.Repo != "nixpkgs" || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(l.Rev) ||
		!regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`).MatchString(l.NarHash) || l.LastModified <= 0 {
		t.Errorf("nixpkgs locked as %+v", *l)
	}
	// The lock's original is flake.nix's url.
	if url := "github:" + o.Owner + "/" + o.Repo + "/" + o.Ref; url != "github:NixOS/nixpkgs/nixos-unstable" || o.Type != "github" {
		t.Errorf("nixpkgs original %s, flake.nix has github:NixOS/nixpkgs/nixos-unstable", url)
	}
}
