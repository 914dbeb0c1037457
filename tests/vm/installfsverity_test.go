//go:build vm

package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// installFSVerityScript runs `nix-uki install --closure-fsverity` where the
// kernel has fs-verity: the store disk (ext4 -O verity) is mounted and its
// /nix bound on /nix, so the installer's store is the running system's;
// the ESP is a directory; the generation's UKI leaves the VM on /dev/vdb.
const installFSVerityScript = `mkdir -p /sysroot /nix /esp /profiles /tmp
mount -t ext4 /dev/vda /sysroot; echo "step mount exit=$?"
mount -o bind /sysroot/nix /nix; echo "step bind exit=$?"
ln -s /gen/system-1 /profiles/system-1-link
set -- --esp /esp --profiles /profiles --stub /stub.efi --systemd-boot /systemd-boot.efi \
  --secureboot-private-key /db.key --secureboot-certificate /db.crt --allow-non-vfat --booted-system none \
  --manifest-from hash --closure-fsverity --kernel-param nix-closure-verify.root=/sysroot
/bin/nix-uki install "$@"; echo "step install exit=$?"
/bin/nix-uki install "$@"; echo "step install-again exit=$?"
f=$(ls /esp/EFI/Linux/*.efi)
echo "uki-size $(wc -c < $f)"
dd if=$f of=/dev/vdb bs=1M conv=fsync 2>/dev/null; echo "step export exit=$?"
umount /nix && umount /sysroot; echo "step umount exit=$?"
`

// TestInstallFSVerity: `nix-uki install --closure-fsverity` (what the
// module's closureCheck.fsverity asks for) run inside a VM whose kernel
// has fs-verity, on a real Nix closure on an ext4 -O verity store: it
// enables fs-verity on every file of the generation's closure and reports
// how many, a second run changes nothing; the UKI it wrote, booted under
// Secure Boot with that store, passes the boot check by fs-verity digests
// (fsverity=on from its signed settings, no file read), while the same
// UKI with the store as it was before the install (no fs-verity) stops
// the boot.
func TestInstallFSVerity(t *testing.T) {
	harness.NeedTools(t, "go", stub, "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	fx := nixtest.Build(t)
	ncv := staticNCV(t)
	uki := staticNixUKI(t)
	vmlinuz, modules := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()

	disk := verityStore(t, fx.Closure)
	before := copySparse(t, disk)
	export := filepath.Join(dir, "export.img")
	if err := os.WriteFile(export, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(export, 64<<20); err != nil {
		t.Fatal(err)
	}

	// The generation: the host's kernel, an initrd that mounts the store
	// read-only and runs the boot check, the fixture closure as toplevel.
	ukiIrd := verityBootCheckInitrd(t, modules, ncv)
	bootJSON, err := json.Marshal(map[string]any{"org.nixos.bootspec.v1": map[string]any{
		"system": "x86_64-linux", "kernel": "/k/vmlinuz", "kernelParams": strings.Fields(cmdline),
		"initrd": "/k/initrd", "init": fx.Top + "/init", "label": "NixOS (fs-verity install test)", "toplevel": fx.Top,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ird := buildInitrd(t, t.TempDir(), initrd.Spec{
		ModulesDir: modules,
		Modules:    verityModules,
		Run:        []string{"/bin/sh", "/bin/test.sh"},
		Files: []initrd.File{
			{Name: "bin/test.sh", Data: []byte(installFSVerityScript), Perm: 0o755},
			{Name: "bin/nix-uki", HostPath: uki, Perm: 0o755},
			{Name: "stub.efi", HostPath: stub, Perm: 0o644},
			{Name: "systemd-boot.efi", HostPath: "/usr/lib/systemd/boot/efi/systemd-bootx64.efi", Perm: 0o644},
			{Name: "db.key", HostPath: key, Perm: 0o600},
			{Name: "db.crt", HostPath: cert, Perm: 0o644},
			{Name: "k/vmlinuz", HostPath: vmlinuz, Perm: 0o644},
			{Name: "k/initrd", HostPath: ukiIrd, Perm: 0o644},
			{Name: "gen/system-1/boot.json", Data: bootJSON, Perm: 0o644},
		},
	})
	ctx := context.Background()
	vm := harness.Boot(t, harness.Config{
		Firmware:  harness.FirmwarePlain,
		Disks:     []string{disk, export},
		Timeout:   6 * time.Minute,
		ExtraArgs: []string{"-kernel", vmlinuz, "-initrd", ird, "-append", cmdline},
	})
	waitSteps(t, vm, "mount exit=0", "bind exit=0")
	enabled, err := vm.WaitFor(ctx, regexp.MustCompile(`^generation 1: fs-verity enabled on `))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(enabled)
	if m := regexp.MustCompile(`^generation 1: fs-verity enabled on ([0-9]+) files \(0 of the closure's ([0-9]+) regular files had it already\)$`).FindStringSubmatch(enabled); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("first install: %q, want every regular file enabled", enabled)
	}
	waitSteps(t, vm, "install exit=0")
	if _, err := vm.WaitFor(ctx, regexp.MustCompile(`^nothing to do: every file is in place and intact \(0 bytes written\)$`)); err != nil {
		t.Fatal(err)
	}
	waitSteps(t, vm, "install-again exit=0")
	sizeLine, err := vm.WaitFor(ctx, regexp.MustCompile(`^uki-size [0-9]+$`))
	if err != nil {
		t.Fatal(err)
	}
	waitSteps(t, vm, "export exit=0", "umount exit=0")
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The UKI the installer wrote, out of the raw disk.
	size, _ := strconv.Atoi(strings.TrimPrefix(sizeLine, "uki-size "))
	raw, err := os.ReadFile(export)
	if err != nil || size <= 0 || size > len(raw) {
		t.Fatalf("exported UKI: size %d, %v", size, err)
	}
	image := filepath.Join(dir, "installed.efi")
	if err := os.WriteFile(image, raw[:size], 0o644); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw[:size], []byte("nix-closure-verify.fsverity=on")) {
		t.Error("the installed UKI's command line does not ask for fsverity=on")
	}

	t.Run("installed UKI, enabled store: passes by fs-verity digests", func(t *testing.T) {
		t.Parallel()
		secureBootUKI(t, image, disk, signedSettingsRE, regexp.MustCompile(`^nix-closure-verify: store ok \(fs-verity digests, no contents read\): `), continuesRE)
	})
	t.Run("installed UKI, store without fs-verity: the boot stops", func(t *testing.T) {
		t.Parallel()
		vm := secureBootUKI(t, image, before, signedSettingsRE, regexp.MustCompile(`^nix-closure-verify: FAILED /nix/store/.*: fs-verity: `), bootStoppedRE)
		if err := vm.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the boot went on")
		}
	})
}
