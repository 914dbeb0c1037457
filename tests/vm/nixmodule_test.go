//go:build vm

package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/internal/systemtest"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 12: the install configuration the NixOS module writes is what
// `nix-uki install --config` reads. The module, evaluated with nixpkgs' lib
// for this machine (an ESP directory, Debian's systemd-stub and
// systemd-boot, the firmware's db key), gives the file; the installer puts
// two generations on the ESP from it; OVMF with Secure Boot enforced starts
// the signed systemd-boot, which boots the newest generation, whose initrd
// checks the store against the manifest signed into its UKI.
func TestModuleConfigInstallsAndBoots(t *testing.T) {
	harness.NeedTools(t, systemtest.Stub, systemtest.SystemdBoot, "go", "mkfs.ext4")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	lib := nixeval.Lib(t)
	fx := nixtest.Build(t)
	t.Setenv("NIX_CONFIG", nixtest.Config) // the installer reads Nix's database
	nixUKI := nixUKI(t)
	ncv := staticNCV(t)
	_, modulesDir := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()
	esp := filepath.Join(dir, "esp")
	if err := os.Mkdir(esp, 0o755); err != nil {
		t.Fatal(err)
	}

	// Two generations of the same closure; each initrd prints its marker,
	// mounts the store disk at /sysroot and runs the check.
	profiles := systemtest.New(t, dir)
	for n := 1; n <= 2; n++ {
		ird := buildInitrd(t, t.TempDir(), initrd.Spec{
			ModulesDir: modulesDir,
			Modules:    strings.Fields(storeDiskModules),
			Marker:     systemtest.Marker(n, ""),
			Run:        []string{"/bin/sh", "/boot-check.sh"},
			Files: []initrd.File{
				{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
				{Name: "boot-check.sh", Data: bootScript("mount -o ro /dev/vda /sysroot"), Perm: 0o755},
			},
		})
		profiles.Add(t, systemtest.Generation{Number: n, Toplevel: fx.Top, Initrd: ird,
			Time: time.Date(2026, 12, n, 12, 0, 0, 0, time.UTC), Params: strings.Fields(cmdline)})
	}

	// The module's configuration file for this machine, as the system's
	// install hook would pass it.
	config := fmt.Sprintf(`boot.verifiedBoot.enable = true;
		boot.initrd.systemd.enable = true;
		boot.loader.efi.efiSysMountPoint = %q;
		boot.loader.timeout = 0;
		boot.verifiedBoot.stub = %q;
		boot.verifiedBoot.systemdBoot = %q;
		boot.verifiedBoot.secureBoot = { privateKey = %q; certificate = %q; };`,
		esp, systemtest.Stub, systemtest.SystemdBoot, key, cert)
	out := nixeval.MustEval(t, "nix/testdata/eval-module.nix", "--arg", "lib", "import "+lib,
		"--arg", "modules", "[ { "+config+" } ]", "-A", "installConfig")
	var text string
	if err := json.Unmarshal(out, &text); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "install.json")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// What only a test adds: the made-up generations' profile directory,
	// an ESP that is a directory rather than a mounted FAT partition, and
	// no running system.
	report := run(t, nixUKI, "install", "--config", file, "--profiles", profiles.Dir,
		"--allow-non-vfat", "--booted-system", filepath.Join(dir, "booted-system"))
	t.Logf("nix-uki install --config:\n%s", report)
	ukis, _ := filepath.Glob(filepath.Join(esp, "EFI", "Linux", "nixos-generation-*.efi"))
	if len(ukis) != 2 {
		t.Fatalf("UKIs on the ESP: %q", ukis)
	}
	for _, u := range ukis {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		// The module's word and the installer's, both signed.
		for _, w := range []string{"nix-closure-verify.root=/sysroot", "nix-closure-verify.on-failure=halt", "nix-closure-verify.digest=sha256:"} {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s: no %s on its command line", u, w)
			}
		}
	}

	vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: esp,
		Disks: []string{storeDisk(t, fx.Closure, nil)}, ReadOnlyDisks: true, Timeout: 10 * time.Minute})
	ctx := context.Background()
	newest := regexp.MustCompile("^" + regexp.QuoteMeta(systemtest.Marker(2, "")) + "$")
	if i, _, err := vm.WaitForAny(ctx, newest, harness.RefusedRE, regexp.MustCompile("^"+regexp.QuoteMeta(systemtest.Marker(1, ""))+"$")); err != nil || i != 0 {
		t.Fatalf("waiting for generation 2 (the default): matched pattern %d, %v", i, err)
	}
	for _, re := range []*regexp.Regexp{storeOKRE, continuesRE} {
		if _, err := vm.WaitFor(ctx, re); err != nil {
			t.Fatal(err)
		}
	}
}
