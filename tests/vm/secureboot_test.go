//go:build vm

package vm

import (
	"bytes"
	"context"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 3: a UKI built by nix-uki from Debian's systemd-stub, Debian's
// kernel and a busybox initrd that prints a marker boots to that marker
// with Secure Boot enforced when signed with a key in the firmware's db;
// the unsigned image, an image signed with another key, and images with
// one byte changed in .cmdline or in .initrd are refused by the firmware.

const (
	// bootMarker is what the initrd prints. The tampered images change its
	// last letter, so that if the firmware ever accepted one, the test sees
	// the guest's own proof of that at once instead of a timeout.
	bootMarker = "NBS-SECUREBOOT-BOOTED"
	// issue3Cmdline ends in a token whose value the .cmdline tampering
	// flips: a change the kernel ignores, so only the firmware can object.
	issue3Cmdline = cmdline + " nbs.tamper=0"
)

var anyMarkerRE = regexp.MustCompile(`^NBS-SECUREBOOT-BOOTE.$`)

func TestSecureBootUKI(t *testing.T) {
	harness.NeedTools(t, stub, "go")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	nixUKI := nixUKI(t)
	dir := t.TempDir()
	vmlinuz, _ := kernel(t)
	key, cert := snakeoil(t)
	otherKey, otherCert, err := harness.NewSigningKey(dir, "not-in-db")
	if err != nil {
		t.Fatal(err)
	}
	ird := buildInitrd(t, dir, initrd.Spec{
		Marker: bootMarker,
		Run:    []string{"/bin/cat", "/proc/cmdline"},
	})
	osrel := osRelease(t, dir)

	build := func(out string, sign bool) string {
		t.Helper()
		args := []string{"build",
			"--stub", stub, "--linux", vmlinuz, "--initrd", ird,
			"--cmdline", issue3Cmdline, "--os-release", "@" + osrel}
		if sign {
			args = append(args, "--secureboot-private-key", key, "--secureboot-certificate", cert)
		}
		out = filepath.Join(dir, out)
		runTool(t, nixUKI, append(args, "--output", out)...)
		return out
	}
	signed := build("signed.efi", true)
	unsigned := build("unsigned.efi", false)
	otherSigned := filepath.Join(dir, "other-key.efi")
	runTool(t, nixUKI, "sign", "--key", otherKey, "--cert", otherCert, unsigned, "--output", otherSigned)
	badCmdline := tamper(t, signed, ".cmdline", []byte("nbs.tamper=0"), filepath.Join(dir, "cmdline-changed.efi"))
	badInitrd := tamper(t, signed, ".initrd", []byte(bootMarker), filepath.Join(dir, "initrd-changed.efi"))

	cases := []struct {
		name  string
		image string
		boots bool
	}{
		{"signed with db key boots", signed, true},
		{"unsigned refused", unsigned, false},
		{"signed with another key refused", otherSigned, false},
		{"one byte changed in .cmdline refused", badCmdline, false},
		{"one byte changed in .initrd refused", badInitrd, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			vm := harness.Boot(t, harness.Config{
				Firmware: harness.FirmwareSecureBoot,
				ESPDir:   espWith(t, c.image),
				Timeout:  90 * time.Second,
			})
			ctx := context.Background()
			i, line, err := vm.WaitForAny(ctx, harness.RefusedRE, anyMarkerRE)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.boots && i == 0:
				t.Fatalf("firmware refused the signed image: %s\n%s", line, vm.Console.Log())
			case !c.boots && i == 1:
				t.Fatalf("firmware started the image; the guest printed %q\n%s", line, vm.Console.Log())
			case !c.boots:
				t.Logf("refused after %s: %s", time.Since(start).Round(100*time.Millisecond), line)
				return
			}
			if line != bootMarker {
				t.Errorf("marker %q, want %q", line, bootMarker)
			}
			// The stub passed the image's own .cmdline to the kernel.
			got, err := vm.WaitFor(ctx, regexp.MustCompile(`nbs\.tamper=`))
			if err != nil {
				t.Fatal(err)
			}
			if got != issue3Cmdline {
				t.Errorf("kernel command line %q, want %q", got, issue3Cmdline)
			}
			if err := vm.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("booted and powered off after %s", time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// runTool runs a command and fails the test with its output if it fails.
func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// tamper copies image to out with one byte changed: the last byte of the
// first occurrence of find inside the raw data of the named section,
// located through the PE section table.
func tamper(t *testing.T, image, section string, find []byte, out string) string {
	t.Helper()
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	off, err := findInSection(data, section, find)
	if err != nil {
		t.Fatalf("%s: %v", image, err)
	}
	data[off] ^= 0x01 // '0' -> '1', 'D' -> 'E'
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func findInSection(image []byte, name string, find []byte) (int, error) {
	f, err := pe.NewFile(bytes.NewReader(image))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		return 0, fmt.Errorf("no %s section", name)
	}
	start := int(s.Offset)
	size := int(min(s.Size, s.VirtualSize))
	if start < 0 || size < 0 || start+size > len(image) {
		return 0, fmt.Errorf("%s: raw data outside the file", name)
	}
	i := bytes.Index(image[start:start+size], find)
	if i < 0 {
		return 0, fmt.Errorf("%q not found in %s", find, name)
	}
	return start + i + len(find) - 1, nil
}
