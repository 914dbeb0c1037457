//go:build vm

package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/systemdpeer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 10: the stubs NixOS users run. For systemd 254, 257 and the newest
// pinned (scripts/systemd-versions), a UKI built by nix-uki on that stub
// boots under OVMF with Secure Boot enforced and swtpm, PCR 11 read in the
// initrd is inspect's prediction, and the signed policy is satisfied in
// the TPM. For 257 and the newest, a two-profile UKI started by that
// version's systemd-boot (signed by nix-uki) from EFI/Linux/, with
// loader.conf choosing profile 1, runs profile 1's command line and gives
// profile 1's predicted PCR 11.

const (
	stubsMarker   = "NBS-STUBS-BOOTED"
	rescueCmdline = pcrCmdline + " nbs.profile=rescue"
)

var cmdlineRE = regexp.MustCompile(`^NBS-CMDLINE=`)

// stubsInitrd prints the kernel's command line, then runs tpmcheck.
func stubsInitrd(t *testing.T, dir string) string {
	t.Helper()
	return buildInitrd(t, dir, initrd.Spec{
		Marker: stubsMarker,
		Run:    []string{"/bin/sh", "-c", "echo NBS-CMDLINE=$(cat /proc/cmdline); exec /bin/tpmcheck"},
		Files:  []initrd.File{{Name: "bin/tpmcheck", HostPath: staticTPMCheck(t, dir), Perm: 0o755}},
	})
}

// bootAndCheck boots the ESP and checks the command line, PCR 11 against
// pred (phase path -> hex) and the signed policy.
func bootAndCheck(t *testing.T, esp string, pred map[string]string, wantCmdline string) {
	t.Helper()
	start := time.Now()
	vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: esp, TPM: true, Timeout: 600 * time.Second, ConsoleCopy: consoleCopy(t)})
	ctx := context.Background()
	i, line, err := vm.WaitForAny(ctx, harness.RefusedRE, regexp.MustCompile("^"+stubsMarker+"$"))
	if err != nil {
		t.Fatalf("%v\n%s", err, vm.Console.Log())
	}
	if i == 0 {
		t.Fatalf("firmware refused the image: %s", line)
	}
	value := func(re *regexp.Regexp) string {
		line, err := vm.WaitFor(ctx, re)
		if err != nil {
			t.Fatalf("%v\n%s", err, vm.Console.Log())
		}
		return line[strings.IndexByte(line, '=')+1:]
	}
	if got := value(cmdlineRE); strings.TrimSpace(got) != wantCmdline {
		t.Errorf("command line %q, want %q", got, wantCmdline)
	}
	if got := strings.ToLower(value(pcrStubRE)); got != pred[":"] {
		t.Errorf("PCR 11 after the stub %s, predicted %s", got, pred[":"])
	}
	if got := strings.ToLower(value(pcrEnterRE)); got != pred["enter-initrd"] {
		t.Errorf("PCR 11 after enter-initrd %s, predicted %s", got, pred["enter-initrd"])
	}
	verdict, err := vm.WaitFor(ctx, policyRE)
	if err != nil {
		t.Fatal(err)
	}
	if verdict != "NBS-POLICY OK" {
		t.Errorf("signed policy not satisfied: %s\n%s", verdict, vm.Console.Log())
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("PCR 11 %s as predicted, %s, boot took %s", pred[":"][:16], verdict, time.Since(start).Round(100*time.Millisecond))
}

// stubsFixture is what the stub-version boots share: nix-uki, the
// kernel, the test initrd and os-release, the snakeoil signing key and a
// PCR policy key.
type stubsFixture struct {
	nixUKI, vmlinuz, initrd, osrel, key, cert, pcrKey string
}

func newStubsFixture(t *testing.T) stubsFixture {
	t.Helper()
	harness.NeedTools(t, "go", "swtpm")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	f := stubsFixture{nixUKI: nixUKI(t)}
	dir := t.TempDir()
	f.vmlinuz, _ = kernel(t)
	f.key, f.cert = snakeoil(t)
	f.pcrKey = filepath.Join(dir, "pcr.pem")
	testcert.WriteKey(t, f.pcrKey, testcert.NewKey(t, testcert.RSA2048))
	f.initrd = stubsInitrd(t, dir)
	f.osrel = osRelease(t, dir)
	return f
}

func TestStubVersionsBoot(t *testing.T) {
	f := newStubsFixture(t)
	nixUKI, vmlinuz, ird, osrel, key, cert, pcrKey := f.nixUKI, f.vmlinuz, f.initrd, f.osrel, f.key, f.cert, f.pcrKey
	for _, major := range []int{254, 257, systemdpeer.Newest(t).Major} {
		v := systemdpeer.Get(t, major)
		t.Run(v.String(), func(t *testing.T) {
			stub := v.Stub(t)
			t.Parallel()
			img := filepath.Join(t.TempDir(), "uki.efi")
			runTool(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird, "--os-release", "@"+osrel,
				"--cmdline", pcrCmdline, "--pcr-private-key", pcrKey,
				"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", img)
			bootAndCheck(t, espWith(t, img), predicted(t, nixUKI, img), pcrCmdline)
		})
	}
}

func TestProfilesBootWithSystemdBoot(t *testing.T) {
	f := newStubsFixture(t)
	nixUKI, vmlinuz, ird, osrel, key, cert, pcrKey := f.nixUKI, f.vmlinuz, f.initrd, f.osrel, f.key, f.cert, f.pcrKey
	for _, major := range []int{257, systemdpeer.Newest(t).Major} {
		v := systemdpeer.Get(t, major)
		t.Run(v.String(), func(t *testing.T) {
			stub, boot := v.Stub(t), v.Boot(t)
			t.Parallel()
			work := t.TempDir()
			p1 := filepath.Join(work, "rescue.efi")
			runTool(t, nixUKI, "build", "--stub", stub, "--profile", "ID=rescue\nTITLE=Rescue", "--cmdline", rescueCmdline, "--output", p1)
			img := filepath.Join(work, "multi.efi")
			runTool(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird, "--os-release", "@"+osrel,
				"--cmdline", pcrCmdline, "--profile", "ID=main", "--join-profile", p1, "--pcr-private-key", pcrKey,
				"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", img)
			pred := predictedProfile(t, nixUKI, img, 1)
			if pred[":"] == predicted(t, nixUKI, img)[":"] {
				t.Fatalf("profiles 0 and 1 predict the same PCR 11")
			}

			// Each profile in turn: systemd-boot signed by nix-uki, the
			// UKI in EFI/Linux/, loader.conf choosing that profile's entry
			// (the UKI's name @ the profile's ID) at once.
			for _, p := range []struct {
				n       int
				id      string
				cmdline string
			}{{0, "main", pcrCmdline}, {1, "rescue", rescueCmdline}} {
				t.Run(fmt.Sprintf("profile %d", p.n), func(t *testing.T) {
					esp := t.TempDir()
					for _, d := range []string{"EFI/BOOT", "EFI/Linux", "loader"} {
						if err := os.MkdirAll(filepath.Join(esp, d), 0o755); err != nil {
							t.Fatal(err)
						}
					}
					runTool(t, nixUKI, "sign", "--key", key, "--cert", cert, boot, "--output", filepath.Join(esp, "EFI/BOOT/BOOTX64.EFI"))
					data, err := os.ReadFile(img)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(esp, "EFI/Linux/multi.efi"), data, 0o644); err != nil {
						t.Fatal(err)
					}
					conf := "timeout 0\ndefault multi.efi@" + p.id + "\neditor no\n"
					if err := os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte(conf), 0o644); err != nil {
						t.Fatal(err)
					}
					bootAndCheck(t, esp, predictedProfile(t, nixUKI, img, p.n), p.cmdline)
				})
			}
		})
	}
}

// predictedProfile returns inspect's sha256 predictions for one profile.
func predictedProfile(t *testing.T, nixUKI, image string, profile int) map[string]string {
	t.Helper()
	out, err := exec.Command(nixUKI, "inspect", "--json", "--pcr-banks", "sha256", "--phases", ":,enter-initrd", image).Output()
	if err != nil {
		t.Fatalf("nix-uki inspect %s: %v", image, err)
	}
	var info struct {
		PCR11 struct {
			Error    string `json:"error"`
			Profiles []struct {
				Profile int
				Values  []struct{ Bank, Phase, PCR11 string }
			} `json:"profiles"`
		} `json:"pcr11"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.PCR11.Error != "" || len(info.PCR11.Profiles) <= profile {
		t.Fatalf("%s: %s, %d profiles", image, info.PCR11.Error, len(info.PCR11.Profiles))
	}
	m := map[string]string{}
	for _, v := range info.PCR11.Profiles[profile].Values {
		m[v.Phase] = v.PCR11
	}
	if len(m[":"]) != 64 {
		t.Fatal(fmt.Sprintf("%s: profile %d predictions %v", image, profile, m))
	}
	return m
}

// consoleCopy copies the console to the file $NBS_CONSOLE_DIR/<test>.log
// when that variable is set (to watch a slow boot as it goes).
func consoleCopy(t *testing.T) io.Writer {
	dir := os.Getenv("NBS_CONSOLE_DIR")
	if dir == "" {
		return nil
	}
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
