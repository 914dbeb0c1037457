//go:build vm

package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// TestHarnessBoot proves the harness without nix-uki: a UKI assembled with
// objcopy and signed with sbsign boots under enforced Secure Boot, from an
// ESP directory, with a TPM and an extra virtio disk; the initrd loads the
// virtio modules, runs a probe that reads PCR 11 and the disk, and its exit
// status and power-off come back through the console.
func TestHarnessBoot(t *testing.T) {
	harness.NeedTools(t, "objcopy", "sbsign", "swtpm", stub)
	dir := t.TempDir()
	vmlinuz, modules := kernel(t)
	key, cert := snakeoil(t)

	const diskText = "nbs-disk-0123456"
	disk := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(disk, append([]byte(diskText), make([]byte, 1<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := "#!/bin/sh\n" +
		"echo \"pcr11=$(cat /sys/class/tpm/tpm0/pcr-sha256/11)\"\n" +
		"echo \"disk=$(head -c 16 /dev/vda)\"\n" +
		"exit 7\n"
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"virtio_pci", "virtio_blk"},
		Marker:     "NBS-HARNESS-MARKER",
		Run:        []string{"/bin/probe"},
		Files:      []initrd.File{{Name: "bin/probe", Data: []byte(probe), Perm: 0o755}},
	})
	uki := filepath.Join(dir, "uki.efi")
	if err := harness.ObjcopyUKI(harness.UKIParts{
		Stub: stub, Linux: vmlinuz, Initrd: ird, Cmdline: cmdline, OSRelease: osRelease(t, dir),
	}, key, cert, uki); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	vm := harness.Boot(t, harness.Config{
		Firmware: harness.FirmwareSecureBoot,
		ESPDir:   espWith(t, uki),
		Disks:    []string{disk},
		TPM:      true,
		Timeout:  90 * time.Second,
	})
	ctx := context.Background()
	steps := []struct {
		re    string
		check func(line string)
	}{
		{`^NBS-HARNESS-MARKER$`, nil},
		{`^pcr11=`, func(line string) {
			if !regexp.MustCompile(`^pcr11=[0-9A-Fa-f]{64}$`).MatchString(line) || regexp.MustCompile(`^pcr11=0{64}$`).MatchString(line) {
				t.Errorf("PCR 11 not read or not extended by the stub: %q", line)
			}
		}},
		{`^disk=`, func(line string) {
			if line != "disk="+diskText {
				t.Errorf("extra disk read as %q", line)
			}
		}},
		{initrd.ExitStatusRE.String(), func(line string) {
			if line != initrd.ExitStatusPrefix+"7" {
				t.Errorf("exit status line %q, want status 7", line)
			}
		}},
	}
	for _, s := range steps {
		line, err := vm.WaitFor(ctx, regexp.MustCompile(s.re))
		if err != nil {
			t.Fatal(err)
		}
		if s.check != nil {
			s.check(line)
		}
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("boot to power-off took %s", time.Since(start).Round(100*time.Millisecond))
}

// TestHarnessHardTimeout checks that a VM that never prints what a test
// waits for is killed at its hard timeout, with swtpm, and that the wait
// says so.
func TestHarnessHardTimeout(t *testing.T) {
	harness.NeedTools(t, "swtpm")
	harness.NeedVMTools(t, harness.FirmwarePlain)
	vm, err := harness.Start(context.Background(), harness.Config{
		Firmware: harness.FirmwarePlain, // no ESP: the firmware idles in its boot menu
		TPM:      true,
		Timeout:  4 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	start := time.Now()
	_, err = vm.WaitFor(context.Background(), regexp.MustCompile(`never printed`))
	if !errors.Is(err, harness.ErrHardTimeout) {
		t.Fatalf("got %v, want ErrHardTimeout", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("hard timeout of 4s took %s", d)
	}
	pids := vm.Pids()
	if err := vm.Close(); err != nil {
		t.Error(err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Close (%v)", pid, err)
		}
	}
}

// TestHarnessRefusal proves that a refused image is recognised from the
// firmware's console message, quickly and without waiting for a timeout:
// an objcopy-built UKI that is not signed, under enforced Secure Boot.
func TestHarnessRefusal(t *testing.T) {
	harness.NeedTools(t, "objcopy", stub)
	dir := t.TempDir()
	vmlinuz, _ := kernel(t)
	ird := buildInitrd(t, dir, initrd.Spec{Marker: "NBS-HARNESS-MARKER"})
	uki := filepath.Join(dir, "unsigned.efi")
	if err := harness.ObjcopyUKI(harness.UKIParts{
		Stub: stub, Linux: vmlinuz, Initrd: ird, Cmdline: cmdline, OSRelease: osRelease(t, dir),
	}, "", "", uki); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	vm := harness.Boot(t, harness.Config{ESPDir: espWith(t, uki), Timeout: 60 * time.Second})
	i, line, err := vm.WaitForAny(context.Background(), harness.RefusedRE, regexp.MustCompile(`^NBS-HARNESS-MARKER$`))
	if err != nil {
		t.Fatal(err)
	}
	if i != 0 {
		t.Fatalf("the unsigned image booted (%q)", line)
	}
	t.Logf("refused after %s: %s", time.Since(start).Round(100*time.Millisecond), line)
}
