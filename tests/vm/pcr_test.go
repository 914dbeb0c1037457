//go:build vm

package vm

import (
	"context"
	"debug/pe"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 4: the PCR 11 values nix-uki predicts are the ones systemd-stub
// (Debian's 252) produces in a real boot, and the policy nix-uki signs
// works in a TPM. A UKI built with `nix-uki build --pcr-private-key`
// (and signed for Secure Boot with the snakeoil db key) boots under
// enforced Secure Boot with swtpm as its TPM; in the initrd, tpmcheck
// (tests/vm/internal/tpmcheck) prints PCR 11 (sha256) as the stub left it,
// extends the phase word enter-initrd and prints it again, then runs
// systemd's unlock sequence with /.extra/tpm2-pcr-signature.json and
// /.extra/tpm2-pcr-public-key.pem: LoadExternal, VerifySignature,
// PolicyPCR, PolicyAuthorize, Unseal of a secret sealed to the key's
// authorized policy. The same is then done with an image whose .cmdline
// differs by one byte but which carries the original's .pcrsig and
// .pcrpkey: its PCR 11 values are again the predicted ones (its own), and
// the TPM refuses every signed policy.

const (
	pcrMarker = "NBS-PCR-BOOTED"
	// pcrCmdline ends in a token the tampered image changes by one byte.
	pcrCmdline = cmdline + " nbs.pcr=0"
)

var (
	pcrStubRE   = regexp.MustCompile(`^NBS-PCR11-STUB=`)
	pcrEnterRE  = regexp.MustCompile(`^NBS-PCR11-ENTER-INITRD=`)
	policyRE    = regexp.MustCompile(`^NBS-POLICY (OK|FAIL)`)
	authorizeRE = regexp.MustCompile(`PolicyAuthorize: .*TPM_RC_VALUE`)
)

func TestPCR11MeasuredBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "swtpm")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	nixUKI := nixUKI(t)
	dir := t.TempDir()
	vmlinuz, _ := kernel(t)
	key, cert := snakeoil(t)
	pcrKey := filepath.Join(dir, "pcr.pem")
	testcert.WriteKey(t, pcrKey, testcert.NewKey(t, testcert.RSA2048))
	ird := buildInitrd(t, dir, initrd.Spec{
		Marker: pcrMarker,
		Run:    []string{"/bin/tpmcheck"},
		Files:  []initrd.File{{Name: "bin/tpmcheck", HostPath: staticTPMCheck(t, dir), Perm: 0o755}},
	})
	osrel := osRelease(t, dir)
	base := []string{"build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird, "--os-release", "@" + osrel,
		"--secureboot-private-key", key, "--secureboot-certificate", cert}

	good := filepath.Join(dir, "good.efi")
	runTool(t, nixUKI, append(base, "--cmdline", pcrCmdline, "--pcr-private-key", pcrKey, "--output", good)...)

	// The tampered image: the same sections but .cmdline one byte off,
	// with the original's signed policies and public key.
	pcrsig := filepath.Join(dir, "pcrsig.json")
	pcrpkey := filepath.Join(dir, "pcrpkey.pem")
	writeSection(t, good, ".pcrsig", pcrsig)
	writeSection(t, good, ".pcrpkey", pcrpkey)
	bad := filepath.Join(dir, "cmdline-changed.efi")
	badCmdline := strings.TrimSuffix(pcrCmdline, "0") + "1"
	runTool(t, nixUKI, append(base, "--cmdline", badCmdline, "--pcrpkey", pcrpkey, "--section", ".pcrsig:@"+pcrsig, "--output", bad)...)

	goodPred := predicted(t, nixUKI, good)
	badPred := predicted(t, nixUKI, bad)
	if goodPred[":"] == badPred[":"] {
		t.Fatalf("both images predict PCR 11 %s", goodPred[":"])
	}

	cases := []struct {
		name    string
		image   string
		pred    map[string]string
		cmdline string
		ok      bool
	}{
		{"signed policy satisfied", good, goodPred, pcrCmdline, true},
		{"cmdline one byte off refused", bad, badPred, badCmdline, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			vm := harness.Boot(t, harness.Config{
				Firmware: harness.FirmwareSecureBoot,
				ESPDir:   espWith(t, c.image),
				TPM:      true,
				Timeout:  90 * time.Second,
			})
			ctx := context.Background()
			i, line, err := vm.WaitForAny(ctx, harness.RefusedRE, regexp.MustCompile("^"+pcrMarker+"$"))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				t.Fatalf("firmware refused the image: %s", line)
			}
			value := func(re *regexp.Regexp) string {
				line, err := vm.WaitFor(ctx, re)
				if err != nil {
					t.Fatal(err)
				}
				return strings.ToLower(line[strings.IndexByte(line, '=')+1:])
			}
			if got := value(pcrStubRE); got != c.pred[":"] {
				t.Errorf("PCR 11 after the stub %s, predicted %s", got, c.pred[":"])
			}
			if got := value(pcrEnterRE); got != c.pred["enter-initrd"] {
				t.Errorf("PCR 11 after enter-initrd %s, predicted %s", got, c.pred["enter-initrd"])
			}
			verdict, err := vm.WaitFor(ctx, policyRE)
			if err != nil {
				t.Fatal(err)
			}
			status, err := vm.WaitFor(ctx, exitStatusRE)
			if err != nil {
				t.Fatal(err)
			}
			if c.ok {
				if verdict != "NBS-POLICY OK" || status != initrd.ExitStatusPrefix+"0" {
					t.Errorf("policy not satisfied: %q, %q\n%s", verdict, status, vm.Console.Log())
				}
			} else {
				if !strings.HasPrefix(verdict, "NBS-POLICY FAIL") || status != initrd.ExitStatusPrefix+"1" {
					t.Errorf("policy of another image satisfied: %q, %q\n%s", verdict, status, vm.Console.Log())
				}
				// The TPM itself refused: the signatures verify, but
				// the session's PolicyPCR digest is not the signed one.
				if !authorizeRE.MatchString(vm.Console.Log()) {
					t.Errorf("no PolicyAuthorize TPM_RC_VALUE refusal on the console\n%s", vm.Console.Log())
				}
			}
			if err := vm.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: PCR 11 as predicted, %s, boot took %s", filepath.Base(c.image), verdict, time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// predicted returns `nix-uki inspect`'s sha256 PCR 11 predictions of image
// by phase path (":" right after the stub).
func predicted(t *testing.T, nixUKI, image string) map[string]string {
	t.Helper()
	out, err := exec.Command(nixUKI, "inspect", "--json", "--pcr-banks", "sha256", "--phases", ":,enter-initrd", image).Output()
	if err != nil {
		t.Fatalf("nix-uki inspect %s: %v", image, err)
	}
	var info struct {
		PCR11 struct {
			Error  string `json:"error"`
			Values []struct {
				Bank, Phase, PCR11 string
			} `json:"values"`
		} `json:"pcr11"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.PCR11.Error != "" {
		t.Fatalf("%s: %s", image, info.PCR11.Error)
	}
	m := map[string]string{}
	for _, v := range info.PCR11.Values {
		m[v.Phase] = v.PCR11
	}
	if len(m[":"]) != 64 || len(m["enter-initrd"]) != 64 {
		t.Fatalf("%s: predictions %v", image, m)
	}
	return m
}

// writeSection copies a section's VirtualSize bytes out of a PE image.
func writeSection(t *testing.T, image, name, out string) {
	t.Helper()
	f, err := pe.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		t.Fatalf("%s has no %s section", image, name)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	if int(s.VirtualSize) < len(data) {
		data = data[:s.VirtualSize]
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// staticTPMCheck builds tests/vm/internal/tpmcheck as one static binary
// for the initrd.
func staticTPMCheck(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "tpmcheck")
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./tests/vm/internal/tpmcheck")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tpmcheck: %v\n%s", err, b)
	}
	return out
}
