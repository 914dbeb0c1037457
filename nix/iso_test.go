package nix

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

type isoEval struct {
	FailedAssertions   []string                  `json:"failedAssertions"`
	KernelParams       []string                  `json:"kernelParams"`
	KernelModules      []string                  `json:"kernelModules"`
	ExtraUtilsCommands string                    `json:"extraUtilsCommands"`
	PostDeviceCommands string                    `json:"postDeviceCommands"`
	FileSystems        map[string]map[string]any `json:"fileSystems"`
	Builder            *string                   `json:"builder"`
}

// evalISO evaluates nix/iso.nix with the module system and the stand-ins
// of testdata/eval-iso.nix, each config being the body of one more module.
func evalISO(t *testing.T, configs ...string) isoEval {
	t.Helper()
	inst := peer.Tool(t, "nix-instantiate")
	lib := nixeval.Lib(t)
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command(inst, "--eval", "--strict", "--json", filepath.Join(filepath.Dir(file), "testdata", "eval-iso.nix"),
		"--arg", "lib", "import "+lib, "--arg", "modules", "[ "+modules(configs)+" ]")
	cmd.Env = append(os.Environ(), "NIX_CONFIG=experimental-features = nix-command")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr)
	}
	var e isoEval
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return e
}

func modules(configs []string) string {
	var b strings.Builder
	for _, c := range configs {
		b.WriteString("({ lib, ... }: { " + c + " }) ")
	}
	return b.String()
}

const isoConfig = `boot.verifiedBoot.iso = {
    enable = true;
    package = "/nix/store/00000000000000000000000000000000-nix-boot-security";
    shim = "/nix/store/00000000000000000000000000000000-shim/shimx64.efi.signed";
    secureBoot.privateKey = "/var/lib/nix-boot-security/keys/mok/mok.key";
    secureBoot.certificate = "/var/lib/nix-boot-security/keys/mok/mok.pem";
  };`

func TestISOModule(t *testing.T) {
	e := evalISO(t, isoConfig)
	if len(e.FailedAssertions) != 0 {
		t.Errorf("assertions: %q", e.FailedAssertions)
	}
	if got := strings.Join(e.KernelParams, " "); got != "nix-closure-verify.on-failure=halt nix-closure-verify.medium-wait=60 nix-closure-verify.store-mount=off" {
		t.Errorf("kernel parameters: %s", got)
	}
	if !strings.Contains(e.ExtraUtilsCommands, "copy_bin_and_libs /nix/store/00000000000000000000000000000000-nix-boot-security/bin/nix-closure-verify") ||
		!strings.Contains(e.PostDeviceCommands, "nix-closure-verify boot || fail") {
		t.Errorf("initrd commands:\n%s\n%s", e.ExtraUtilsCommands, e.PostDeviceCommands)
	}
	ro := e.FileSystems["/nix/.ro-store"]
	if ro["device"] != "/dev/mapper/nix-store" || ro["fsType"] != "squashfs" || ro["neededForBoot"] != true {
		t.Errorf("/nix/.ro-store: %v", ro)
	}
	if e.FileSystems["/nix/store"]["fsType"] != "overlay" || e.FileSystems["/"]["fsType"] != "tmpfs" {
		t.Errorf("file systems: %v", e.FileSystems)
	}
	if e.Builder == nil {
		t.Fatal("no system.build.verifiedIsoBuilder")
	}
	for _, want := range []string{
		"/nix/store/00000000000000000000000000000000-nix-boot-security/bin/nix-uki iso --stub /nix/store/00000000000000000000000000000000-systemd/lib/systemd/boot/efi/linuxx64.efi.stub",
		"--linux /nix/store/00000000000000000000000000000000-linux/bzImage --initrd /nix/store/00000000000000000000000000000000-initrd/initrd",
		"--cmdline 'init=/nix/store/00000000000000000000000000000000-nixos-system/init nix-closure-verify.on-failure=halt nix-closure-verify.medium-wait=60 nix-closure-verify.store-mount=off'",
		"--closure-info /nix/store/00000000000000000000000000000000-closure-info --volume-label NIXOS_ISO --source-date-epoch 315532800",
		"--secureboot-private-key /var/lib/nix-boot-security/keys/mok/mok.key --secureboot-certificate /var/lib/nix-boot-security/keys/mok/mok.pem",
		"--shim /nix/store/00000000000000000000000000000000-shim/shimx64.efi.signed",
		`--output "$1"`,
	} {
		if !strings.Contains(*e.Builder, want) {
			t.Errorf("builder lacks %q:\n%s", want, *e.Builder)
		}
	}
}

func TestISOModuleAssertions(t *testing.T) {
	cases := []struct{ config, want string }{
		{`boot.verifiedBoot.iso.volumeLabel = "has space";`, "volumeLabel must be"},
		{`boot.verifiedBoot.iso.secureBoot.privateKey = lib.mkForce "/nix/store/00000000000000000000000000000000-k/db.key";`, "is in the Nix store"},
		{`boot.initrd.systemd.enable = true;`, "needs the scripted initrd"},
	}
	for _, c := range cases {
		e := evalISO(t, isoConfig, c.config)
		if len(e.FailedAssertions) != 1 || !strings.Contains(e.FailedAssertions[0], c.want) {
			t.Errorf("%s: assertions %q, want one containing %q", c.config, e.FailedAssertions, c.want)
		}
	}
	// Disabled, it sets nothing.
	e := evalISO(t)
	if len(e.KernelParams) != 0 || len(e.FileSystems) != 0 || e.Builder != nil || e.PostDeviceCommands != "" {
		t.Errorf("disabled module set %+v", e)
	}
}
