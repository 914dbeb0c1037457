//go:build vm

package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Debian's systemd-stub, the one the issue-3 UKIs are built from.
const stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// cmdline keeps the guest quiet (boots are slow enough under TCG) and
// makes a kernel panic end the VM at once instead of hanging until the
// hard timeout (-no-reboot turns the reboot into an exit).
const cmdline = "console=ttyS0 quiet panic=-1"

// kernel returns the host's /boot kernel and its modules directory.
func kernel(t *testing.T) (vmlinuz, modulesDir string) {
	t.Helper()
	vmlinuz, version, err := initrd.FindKernel("/boot", initrd.DefaultModulesDir)
	if err != nil {
		harness.NeedTools(t, "/boot/vmlinuz (linux-image-amd64)")
		t.Fatal(err)
	}
	return vmlinuz, filepath.Join(initrd.DefaultModulesDir, version)
}

// buildInitrd writes an initrd for spec into dir.
func buildInitrd(t *testing.T, dir string, spec initrd.Spec) string {
	t.Helper()
	harness.NeedTools(t, initrd.DefaultBusybox)
	p := filepath.Join(dir, "initrd.cpio")
	if err := initrd.WriteFile(p, spec); err != nil {
		t.Fatal(err)
	}
	return p
}

// osRelease is a small os-release for the UKIs' .osrel.
func osRelease(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "os-release")
	if err := os.WriteFile(p, []byte("ID=nbs-test\nNAME=\"nix-boot-security VM test\"\nVERSION_ID=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// espWith makes an ESP directory whose default boot path holds image.
func espWith(t *testing.T, image string) string {
	t.Helper()
	esp := t.TempDir()
	boot := filepath.Join(esp, "EFI", "BOOT")
	if err := os.MkdirAll(boot, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(boot, "BOOTX64.EFI"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return esp
}

// snakeoil decrypts the firmware's db key for signing.
func snakeoil(t *testing.T) (key, cert string) {
	t.Helper()
	harness.NeedTools(t, "openssl", harness.SnakeoilEncryptedKey, harness.SnakeoilCert)
	key, cert, err := harness.SnakeoilKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

var (
	nixUKIOnce sync.Once
	nixUKIPath string
	nixUKIErr  error
	nixUKIOut  []byte
)

// nixUKI builds cmd/nix-uki once for the whole test binary.
func nixUKI(t *testing.T) string {
	t.Helper()
	nixUKIOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nbs-nix-uki-")
		if err != nil {
			nixUKIErr = err
			return
		}
		nixUKIPath = filepath.Join(dir, "nix-uki")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", nixUKIPath, "./cmd/nix-uki")
		cmd.Dir = root
		nixUKIOut, nixUKIErr = cmd.CombinedOutput()
	})
	if nixUKIErr != nil {
		t.Fatalf("building nix-uki: %v\n%s", nixUKIErr, nixUKIOut)
	}
	return nixUKIPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, built := range []string{nixUKIPath, ncvPath, staticNixUKIPath} {
		if built != "" {
			os.RemoveAll(filepath.Dir(built))
		}
	}
	os.Exit(code)
}

// Patterns the tests wait for.
var (
	exitStatusRE = initrd.ExitStatusRE
	powerOffRE   = regexp.MustCompile(regexp.QuoteMeta(initrd.PowerOffLine))
)
