//go:build vm

package vm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/softhsm"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Debian 12's systemd-boot (252) enrolls keys itself: with
// "secure-boot-enroll force" in loader.conf and the firmware in setup
// mode, it writes the .auth files of ESP/loader/keys/auto (PK last) after
// a 15 s countdown and resets the machine. `nix-uki keys export-auth`
// writes those files; the store systemd-boot leaves must then hold our
// keys and boot a UKI signed with our db key under Secure Boot.

const sdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

func TestKeysExportAuthSystemdBoot(t *testing.T) {
	harness.NeedTools(t, stub, sdBoot, "go", initrd.DefaultBusybox)
	harness.NeedVMTools(t, harness.FirmwareSetupMode)
	exportAuthSystemdBoot(t)
}

// TestKeysExportAuthSystemdBootToken is the same with PK and KEK on a
// PKCS#11 token (SoftHSM2): the firmware itself checks the KEK and db
// writes signed through the token. db stays a file, which signs the UKI.
func TestKeysExportAuthSystemdBootToken(t *testing.T) {
	harness.NeedTools(t, stub, sdBoot, "go", initrd.DefaultBusybox)
	harness.NeedVMTools(t, harness.FirmwareSetupMode)
	tok := softhsm.New(t, "sb", "1234")
	tok.GenerateKey(t, "rsa:2048", "PK", "01")
	tok.GenerateKey(t, "rsa:2048", "KEK", "02")
	exportAuthSystemdBoot(t, "--pk-key", tok.URI("PK"), "--kek-key", tok.URI("KEK"))
}

// exportAuthSystemdBoot creates a key set (keys create with createArgs),
// lets systemd-boot enroll its export-auth files, and boots a UKI signed
// with its db key under Secure Boot.
func exportAuthSystemdBoot(t *testing.T, createArgs ...string) {
	host := nixUKI(t)
	dir := t.TempDir()
	ctx := context.Background()

	sb := filepath.Join(dir, "sb")
	runTool(t, host, append([]string{"keys", "create", "--dir", sb, "--bits", "2048", "--name", "nbs sd-boot test"}, createArgs...)...)
	esp := filepath.Join(dir, "esp")
	runTool(t, host, "keys", "export-auth", "--dir", sb, "--esp", esp, "--name", "auto")
	boot := filepath.Join(esp, "EFI", "BOOT")
	if err := os.MkdirAll(boot, 0o755); err != nil {
		t.Fatal(err)
	}
	copyHostFile(t, sdBoot, filepath.Join(boot, "BOOTX64.EFI"))
	if err := os.WriteFile(filepath.Join(esp, "loader", "loader.conf"), []byte("secure-boot-enroll force\ntimeout 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	vars := filepath.Join(dir, "OVMF_VARS_sdboot.fd")
	copyHostFile(t, harness.FirmwareSetupMode.Vars, vars)
	start := time.Now()
	vm := harness.Boot(t, harness.Config{
		Firmware: harness.FirmwareSetupMode,
		VarsFile: vars,
		ESPDir:   esp,
		Timeout:  bootTimeout,
	})
	// systemd-boot resets the machine once the keys are in; QEMU runs
	// with -no-reboot, so the reset ends the VM.
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-boot's enrollment boot ended after %s", time.Since(start).Round(100*time.Millisecond))

	// The store holds our PK, KEK, db, as our own reader sees it.
	store, err := ovmfvars.Open(vars)
	if err != nil {
		t.Fatal(err)
	}
	set, err := sbkeys.LoadCertificates(sb)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v efivar.Variable
		r sbkeys.Role
	}{{efivar.PK, sbkeys.PK}, {efivar.KEK, sbkeys.KEK}, {efivar.DB, sbkeys.DB}} {
		want, _ := efivar.MarshalSignatureLists(efivar.X509List(set.Owner, set.Pair(c.r).Cert.Raw))
		got, ok := store.Get(c.v.Name, c.v.GUID)
		if !ok || !bytes.Equal(got.Data, want) {
			t.Fatalf("%s not enrolled by systemd-boot (console:\n%s)", c.v.Name, vm.Console.Log())
		}
	}

	// And a UKI signed with the db key boots with Secure Boot enforced.
	bootsUnderSecureBoot(t, vars, signedMarkerUKI(t, host, dir, sb))
}
