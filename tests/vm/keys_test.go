//go:build vm

package vm

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 13: the product's own commands enroll keys. `nix-uki keys create`
// makes a key set on the host; a static nix-uki in an initrd booted on
// OVMF in setup mode runs `nix-uki keys enroll` (efivarfs, PK last); a UKI
// signed with the set's db key then boots with Secure Boot enforced. The
// offline path (`keys enroll --ovmf-vars`) must give a store the same UKI
// boots from, without the setup-mode boot.

const keysMarker = "NBS-KEYS-BOOTED"

// bootTimeout only ends a VM that hangs: every outcome is read from the
// console, and on a loaded machine a boot under TCG can take minutes.
const bootTimeout = 10 * time.Minute

var (
	enrolledRE    = regexp.MustCompile(`^enrolled db, KEK, PK`)
	userModeRE    = regexp.MustCompile(`^SetupMode: user$`)
	ownDBStatusRE = regexp.MustCompile(`^\s*x509 CN=nbs keys test Database Key \(owner 6e62732d-7465-7374-2d6f-776e65726b65\)$`)
)

// enrollScript runs in the setup-mode guest: the product command, then
// its status, then the variables as the harness reads them.
const keysEnrollScript = `#!/bin/sh
/bin/efivars || exit 2
/bin/nix-uki keys enroll --dir /sb --time 2025-06-01T00:00:00Z 2>&1 || exit 3
/bin/nix-uki keys status 2>&1 || exit 4
/bin/efivars
`

func TestKeysEnrollCommand(t *testing.T) {
	harness.NeedTools(t, stub, "go", initrd.DefaultBusybox)
	harness.NeedVMTools(t, harness.FirmwareSetupMode)
	host := nixUKI(t)
	static := staticNixUKI(t)
	dir := t.TempDir()
	vmlinuz, modules := kernel(t)
	ctx := context.Background()

	sb := filepath.Join(dir, "sb")
	runTool(t, host, "keys", "create", "--dir", sb, "--bits", "2048", "--name", "nbs keys test",
		"--owner", "6e62732d-7465-7374-2d6f-776e65726b65")

	// The UKI both stores must boot: signed with the new db key.
	signed := signedMarkerUKI(t, host, dir, sb)

	// Offline: no boot needed to make the store.
	offline := filepath.Join(dir, "OVMF_VARS_offline.fd")
	runTool(t, host, "keys", "enroll", "--dir", sb, "--ovmf-vars", harness.FirmwareSetupMode.Vars, "--output", offline)

	// In the guest: the enrolling UKI is unsigned (setup mode boots
	// anything) and carries the static nix-uki and the key set.
	enrollDir := filepath.Join(dir, "enroll")
	if err := os.MkdirAll(enrollDir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []initrd.File{
		{Name: "bin/efivars", Data: []byte(harness.EfivarsScript), Perm: 0o755},
		{Name: "bin/enroll-keys", Data: []byte(keysEnrollScript), Perm: 0o755},
		{Name: "bin/nix-uki", HostPath: static, Perm: 0o755},
		{Name: "sb/GUID", HostPath: sbkeys.GUIDPath(sb), Perm: 0o644},
	}
	for _, r := range sbkeys.Roles {
		files = append(files,
			initrd.File{Name: "sb/keys/" + string(r) + "/" + string(r) + ".key", HostPath: sbkeys.KeyPath(sb, r), Perm: 0o600},
			initrd.File{Name: "sb/keys/" + string(r) + "/" + string(r) + ".pem", HostPath: sbkeys.CertPath(sb, r), Perm: 0o644})
	}
	enrollIrd := buildInitrd(t, enrollDir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"efivarfs"},
		Run:        []string{"/bin/enroll-keys"},
		Files:      files,
	})
	enrollUKI := filepath.Join(dir, "enroll.efi")
	runTool(t, host, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", enrollIrd,
		"--cmdline", cmdline, "--os-release", "@"+osRelease(t, dir), "--output", enrollUKI)
	vars := filepath.Join(dir, "OVMF_VARS_enrolled.fd")
	copyHostFile(t, harness.FirmwareSetupMode.Vars, vars)
	start := time.Now()
	vm := harness.Boot(t, harness.Config{
		Firmware: harness.FirmwareSetupMode,
		VarsFile: vars,
		ESPDir:   espWith(t, enrollUKI),
		Timeout:  bootTimeout,
	})
	line, err := vm.WaitFor(ctx, harness.EfivarsRE)
	if err != nil {
		t.Fatal(err)
	}
	if sb, sm, _ := harness.ParseEfivarsLine(line); sm != 1 {
		t.Fatalf("enrolling guest not in setup mode: SecureBoot=%d SetupMode=%d", sb, sm)
	}
	for _, re := range []*regexp.Regexp{enrolledRE, userModeRE, ownDBStatusRE, harness.EfivarsRE} {
		if line, err = vm.WaitFor(ctx, re); err != nil {
			t.Fatalf("waiting for %q: %v", re, err)
		}
	}
	if sb, sm, _ := harness.ParseEfivarsLine(line); sm != 0 {
		t.Errorf("after enrolling: SecureBoot=%d SetupMode=%d, want SetupMode 0", sb, sm)
	}
	if line, err = vm.WaitFor(ctx, exitStatusRE); err != nil || line != initrd.ExitStatusPrefix+"0" {
		t.Fatalf("enrolling script: %q %v", line, err)
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("enrolled through `nix-uki keys enroll` in the guest in %s", time.Since(start).Round(100*time.Millisecond))

	for name, store := range map[string]string{"enrolled in the guest": vars, "enrolled offline": offline} {
		t.Run(name, func(t *testing.T) { bootsUnderSecureBoot(t, store, signed) })
	}
}

// signedMarkerUKI builds a UKI signed with the db key of the key set in
// sb, whose initrd prints keysMarker and the Secure Boot variables.
func signedMarkerUKI(t *testing.T, nixUKI, dir, sb string) string {
	t.Helper()
	vmlinuz, modules := kernel(t)
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"efivarfs"},
		Marker:     keysMarker,
		Run:        []string{"/bin/efivars"},
		Files:      []initrd.File{{Name: "bin/efivars", Data: []byte(harness.EfivarsScript), Perm: 0o755}},
	})
	signed := filepath.Join(dir, "signed.efi")
	runTool(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
		"--cmdline", cmdline, "--os-release", "@"+osRelease(t, dir),
		"--secureboot-private-key", sbkeys.KeyPath(sb, sbkeys.DB), "--secureboot-certificate", sbkeys.CertPath(sb, sbkeys.DB),
		"--output", signed)
	return signed
}

// bootsUnderSecureBoot boots image on OVMF with the variable store vars
// (Secure Boot enforced) and requires it to start and report SecureBoot=1
// and SetupMode=0.
func bootsUnderSecureBoot(t *testing.T, vars, image string) {
	t.Helper()
	bootOwnKeys(t, vars, image, keysMarker, true, bootTimeout)
}

func copyHostFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
