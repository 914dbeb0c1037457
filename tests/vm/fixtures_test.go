//go:build vm

package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
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

// goBuild is one command of this module built once for the whole test
// binary, into its own temporary directory (removed by TestMain).
type goBuild struct {
	pkg    string // ./cmd/...
	static bool   // CGO_ENABLED=0, to run in a busybox initrd with no C library
	once   sync.Once
	path   string
	err    error
}

// builds are every command the tests build.
var (
	nixUKIBuild       = &goBuild{pkg: "./cmd/nix-uki"}
	staticNixUKIBuild = &goBuild{pkg: "./cmd/nix-uki", static: true}
	staticNCVBuild    = &goBuild{pkg: "./cmd/nix-closure-verify", static: true}
	builds            = []*goBuild{nixUKIBuild, staticNixUKIBuild, staticNCVBuild}
)

// get builds the command the first time and returns its path.
func (b *goBuild) get(t *testing.T) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "nbs-build-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(b.pkg))
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-trimpath", "-o", b.path, b.pkg)
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		if b.static {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatalf("building %s (static %v): %v", b.pkg, b.static, b.err)
	}
	return b.path
}

// nixUKI builds cmd/nix-uki once for the whole test binary.
func nixUKI(t *testing.T) string { return nixUKIBuild.get(t) }

// staticNixUKI builds nix-uki without cgo (no PKCS#11), so it runs in a
// busybox initrd with no C library.
func staticNixUKI(t *testing.T) string { return staticNixUKIBuild.get(t) }

// staticNCV builds nix-closure-verify as the initrd needs it: one static
// binary.
func staticNCV(t *testing.T) string { return staticNCVBuild.get(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range builds {
		if b.path != "" {
			os.RemoveAll(filepath.Dir(b.path))
		}
	}
	os.Exit(code)
}

// Patterns the tests wait for.
var (
	exitStatusRE = initrd.ExitStatusRE
	powerOffRE   = regexp.MustCompile(regexp.QuoteMeta(initrd.PowerOffLine))
)

// fixtureManifest is the Nix fixture's closure manifest, from Nix's own
// registration of it.
func fixtureManifest(t *testing.T, fx *nixtest.Fixture) *closure.Manifest {
	t.Helper()
	entries, err := closure.ParseRegistration(strings.NewReader(fx.Registration))
	if err != nil {
		t.Fatal(err)
	}
	m, err := closure.NewManifest(closure.DefaultStoreDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
