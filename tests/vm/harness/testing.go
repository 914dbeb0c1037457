package harness

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// NeedTools skips the test when a program or file it needs is missing,
// except in CI (CI=true), where scripts/deps installs everything and a
// missing tool fails the test instead.
func NeedTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		var err error
		if len(n) > 0 && n[0] == '/' {
			_, err = os.Stat(n)
		} else {
			_, err = exec.LookPath(n)
		}
		if err != nil {
			peer.Missing(t, "%s is missing: %v", n, err)
		}
	}
}

// NeedVMTools is NeedTools for what every VM boot needs.
func NeedVMTools(t testing.TB, fw Firmware) {
	t.Helper()
	NeedTools(t, qemuBinary, fw.Code, fw.Vars)
}

// Boot starts a VM for a test and closes it when the test ends, whatever
// the outcome.
func Boot(t testing.TB, cfg Config) *VM {
	t.Helper()
	fw := cfg.Firmware
	if fw.Code == "" {
		fw = FirmwareSecureBoot
	}
	NeedVMTools(t, fw)
	if cfg.TPM {
		NeedTools(t, "swtpm")
	}
	vm, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting VM: %v", err)
	}
	t.Cleanup(func() {
		vm.Close()
		// The whole console on failure (waits only show it in their own
		// errors) and in -v runs, where it documents what was booted.
		if t.Failed() || testing.Verbose() {
			t.Logf("serial console:\n%s", vm.Console.Log())
		}
	})
	return vm
}
