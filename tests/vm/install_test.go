//go:build vm

package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/faultfs"
	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/mtoolsfs"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/internal/systemtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/install"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 11: `nix-uki install` puts signed generations behind a signed
// systemd-boot (Debian 12's 252) on a FAT image (mkfs.vfat, written through
// mtools: FAT's semantics, no host directory), and OVMF with Secure Boot
// enforced boots them: the newest by default, an older one when
// loader.conf says so, a specialisation with its own command line, each
// passing the store check at boot; a UKI with one byte flipped is refused;
// ESPs left by an install that crashed part-way still boot.

// installMarkerRE matches any generation's marker (systemtest.Marker).
var installMarkerRE = regexp.MustCompile(`^NBS-GENERATION-\d+(-\S+)?-BOOTED$`)

// installWorld is three generations (the newest with a specialisation
// "debug") installed onto a FAT image.
type installWorld struct {
	dir, image string
	opts       install.Options
	profiles   *systemtest.Profiles
	gen        func(n int, specs ...string)
	store      string // the store disk
}

func newInstallWorld(t *testing.T) *installWorld {
	harness.NeedTools(t, systemtest.Stub, systemtest.SystemdBoot, "go", "mkfs.ext4", "mkfs.vfat", "mcopy")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	fx := nixtest.Build(t)
	t.Setenv("NIX_CONFIG", nixtest.Config)
	ncv := staticNCV(t)
	vmlinuz, modulesDir := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()
	w := &installWorld{dir: dir, image: filepath.Join(dir, "esp.img"), profiles: systemtest.New(t, dir)}
	w.store = storeDisk(t, fx.Closure, nil)
	// Each generation's initrd prints its marker, mounts the store disk,
	// prints the command line, runs the store check, and goes on.
	w.gen = func(n int, specs ...string) {
		ird := filepath.Join(dir, fmt.Sprintf("initrd-%d", n))
		script := "mkdir -p /sysroot\nmount -o ro /dev/vda /sysroot\necho \"cmdline: $(cat /proc/cmdline)\"\n/bin/nix-closure-verify boot\necho " + continuesMarker + "\n"
		if err := initrd.WriteFile(ird, initrd.Spec{
			Marker:     systemtest.Marker(n, ""),
			ModulesDir: modulesDir,
			Modules:    strings.Fields(storeDiskModules),
			Run:        []string{"/bin/sh", "/boot-check.sh"},
			Files: []initrd.File{
				{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
				{Name: "boot-check.sh", Data: []byte(script), Perm: 0o755},
			},
		}); err != nil {
			t.Fatal(err)
		}
		w.profiles.Add(t, systemtest.Generation{
			Number: n, Time: time.Date(2026, 3, n, 0, 0, 0, 0, time.UTC), Toplevel: fx.Top,
			Kernel: vmlinuz, Initrd: ird, Specialisations: specs,
			Params: append(strings.Fields(cmdline), "nix-closure-verify.root=/sysroot"),
		})
	}
	w.gen(1)
	w.gen(2)
	w.gen(3, "debug")
	if err := mtoolsfs.Format(w.image, 256<<20); err != nil {
		t.Fatal(err)
	}
	stub, sdboot, profiles := systemtest.Stub, systemtest.SystemdBoot, w.profiles.Dir
	c := &install.Config{Version: 1, ESPs: []string{"esp"}, Stub: &stub, SystemdBoot: &sdboot, Profiles: &profiles,
		SecureBoot: &install.SecureBootConfig{PrivateKey: &key, Certificate: &cert}}
	opts, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	opts.BootedSystem = filepath.Join(dir, "none")
	w.opts = opts
	w.install(t, w.image, 0)
	return w
}

// fat is the image as an esp.FS.
func fat(t *testing.T, image string) *mtoolsfs.FS {
	return &mtoolsfs.FS{Image: image, Tmp: t.TempDir()}
}

// install runs the installer on image, failing its k-th file-system step
// when k > 0; it returns the steps taken.
func (w *installWorld) install(t *testing.T, image string, k int) []string {
	t.Helper()
	ffs := &faultfs.FS{Inner: fat(t, image), FailAt: k}
	o := w.opts
	o.OpenFS = func(string) (esp.FS, error) { return ffs, nil }
	rep, err := install.Run(context.Background(), o)
	if k == 0 && err != nil {
		t.Fatal(err)
	}
	if k > 0 && err == nil {
		t.Fatalf("no fault at step %d", k)
	}
	if rep != nil {
		var b strings.Builder
		rep.WriteText(&b)
		t.Logf("install (fault at step %d: %v):\n%s", k, err, b.String())
	}
	return ffs.Log
}

// copyImage gives a subtest its own copy of the ESP image.
func copyImage(t *testing.T, image string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "esp.img")
	src, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// entry is the file name of generation n's entry (specialisation spec's).
func entry(t *testing.T, image string, n int, spec string) string {
	t.Helper()
	names, err := fat(t, image).ReadDir(esp.LinuxDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if g, s, ok := esp.ParseEntryName(name); ok && g == n && s == spec {
			return name
		}
	}
	t.Fatalf("no entry for generation %d %q among %v", n, spec, names)
	return ""
}

// setDefault rewrites the image's loader.conf to boot id.
func setDefault(t *testing.T, image, id string) {
	t.Helper()
	f := fat(t, image)
	out, err := f.Create(esp.LoaderConfPath)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(esp.LoaderConf(id, map[string]string{"editor": "no"}))
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// bootInstalled boots image and waits for a generation's marker or a
// refusal; it returns the marker and the VM.
func bootInstalled(t *testing.T, w *installWorld, image string) (string, *harness.VM) {
	t.Helper()
	// A boot takes ~12 s on a quiet machine; the hard limit only stops a
	// hung VM (these boots were seen to take 100 s on a loaded one).
	vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPImage: image, Disks: []string{w.store}, ReadOnlyDisks: true, Timeout: 6 * time.Minute})
	_, line, err := vm.WaitForAny(context.Background(), installMarkerRE, sdbootRefusedRE)
	if err != nil {
		t.Fatal(err)
	}
	return line, vm
}

// sdbootRefusedRE is systemd-boot's line when the firmware refuses to load
// an entry (252: "Error loading \EFI\Linux\...: Security Violation").
var sdbootRefusedRE = regexp.MustCompile(`(?i)error loading .*nixos-generation-.*: (security violation|access denied)`)

// firmwareMovesOnRE is OVMF's line when the boot option (systemd-boot)
// returned the refusal.
var firmwareMovesOnRE = regexp.MustCompile(`^BdsDxe: failed to start Boot\d+ .*: Access Denied$`)

// bootsGeneration boots image and checks that generation n (with spec's
// command line) boots and passes the store check.
func bootsGeneration(t *testing.T, w *installWorld, image string, n int, spec string) {
	t.Helper()
	start := time.Now()
	line, vm := bootInstalled(t, w, image)
	if line != systemtest.Marker(n, "") {
		t.Fatalf("booted %q, want generation %d\n%s", line, n, vm.Console.Log())
	}
	ctx := context.Background()
	cl, err := vm.WaitFor(ctx, regexp.MustCompile(`^cmdline: `))
	if err != nil {
		t.Fatal(err)
	}
	if want := "nbs.spec=" + spec; (spec != "") != strings.Contains(cl, want) || !strings.Contains(cl, "nix-closure-verify.digest=sha256:") {
		t.Errorf("command line %q (specialisation %q)", cl, spec)
	}
	if _, err := vm.WaitFor(ctx, storeOKRE); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.WaitFor(ctx, continuesRE); err != nil {
		t.Fatal(err)
	}
	t.Logf("generation %d%s booted, store check passed, after %s", n, map[bool]string{true: " (specialisation " + spec + ")"}[spec != ""], time.Since(start).Round(100*time.Millisecond))
}

func TestInstallBoots(t *testing.T) {
	w := newInstallWorld(t)
	t.Run("newest generation by default", func(t *testing.T) {
		t.Parallel()
		bootsGeneration(t, w, copyImage(t, w.image), 3, "")
	})
	t.Run("loader.conf default set to an older entry", func(t *testing.T) {
		t.Parallel()
		img := copyImage(t, w.image)
		setDefault(t, img, entry(t, img, 1, ""))
		bootsGeneration(t, w, img, 1, "")
	})
	t.Run("specialisation with its own command line", func(t *testing.T) {
		t.Parallel()
		img := copyImage(t, w.image)
		setDefault(t, img, entry(t, img, 3, "debug"))
		bootsGeneration(t, w, img, 3, "debug")
	})
	t.Run("one byte flipped in the default entry is refused", func(t *testing.T) {
		t.Parallel()
		img := copyImage(t, w.image)
		name := esp.LinuxDir + "/" + entry(t, img, 3, "")
		f := fat(t, img)
		host := filepath.Join(t.TempDir(), "entry.efi")
		r, err := f.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		os.WriteFile(host, data, 0o644)
		bad := tamper(t, host, ".initrd", []byte(systemtest.Marker(3, "")), host+".bad")
		data, _ = os.ReadFile(bad)
		out, _ := f.Create(name)
		out.Write(data)
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		line, vm := bootInstalled(t, w, img)
		if installMarkerRE.MatchString(line) {
			t.Fatalf("the tampered entry booted: %q\n%s", line, vm.Console.Log())
		}
		t.Logf("refused: %s", line)
		// systemd-boot 252 then returns the refusal to the firmware, which
		// goes on to its next boot option (it does not try another entry).
		if _, err := vm.WaitFor(context.Background(), firmwareMovesOnRE); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInstallCrashedESPBoots installs a fourth generation onto copies of
// the ESP and stops it at a chosen step: in the middle of writing the new
// UKI (the old default boots), and after the new loader.conf is in place
// but before the old entries are removed (the new default boots).
func TestInstallCrashedESPBoots(t *testing.T) {
	w := newInstallWorld(t)
	w.gen(4)
	o := w.opts
	o.Limit = 2
	w.opts = o
	// A dry run on a copy names the steps.
	steps := w.install(t, copyImage(t, w.image), 0)
	midUKI, afterLoader := 0, 0
	for i, s := range steps {
		if midUKI == 0 && strings.HasPrefix(s, "write "+esp.LinuxDir+"/nixos-generation-4-") {
			midUKI = i + 1 + 3 // a few writes into the file
		}
		if strings.HasPrefix(s, "syncdir loader") {
			afterLoader = i + 2 // the first step after loader.conf is durable
		}
	}
	if midUKI == 0 || afterLoader == 0 || afterLoader > len(steps) {
		t.Fatalf("steps: %v", steps)
	}
	for _, c := range []struct {
		name string
		k    int
		gen  int
	}{
		{"crashed while writing the new entry: the old default boots", midUKI, 3},
		{"crashed before removing old entries: the new default boots", afterLoader, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			img := copyImage(t, w.image)
			w.install(t, img, c.k)
			bootsGeneration(t, w, img, c.gen, "")
		})
	}
}
