//go:build vm

package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 5: the closure manifest rides inside the signed UKI (an extra cpio
// in .initrd, its digest on .cmdline) and `nix-closure-verify boot`, a
// static binary in the initrd, checks the store before the boot goes on.

const (
	continuesMarker  = "NBS-BOOT-CONTINUES"
	storeDiskModules = "virtio_pci virtio_blk crc32c_generic ext4" // ext4 asks for crc32c through the crypto API, which modules.dep does not list
)

var (
	storeOKRE     = regexp.MustCompile(`^nix-closure-verify: store ok: \d+ store paths, `)
	bootStoppedRE = regexp.MustCompile(`^nix-closure-verify: boot stopped; powering off$`)
	continuesRE   = regexp.MustCompile("^" + continuesMarker + "$")
)

// bootScript is what the test initrd's /init runs after loading modules:
// mount the store disk read-only where the system would be, run the check
// (no shell is needed by the check itself), and show that the boot goes on.
func bootScript(mount string) []byte {
	return []byte("mkdir -p /sysroot\n" + mount + "\n/bin/nix-closure-verify boot\necho " + continuesMarker + "\n")
}

// appendedScript is bootScript with words appended to the command line the
// check reads, after the signed ones.
func appendedScript(mount, words string) []byte {
	return []byte("mkdir -p /sysroot\n" + mount + "\nprintf '%s " + words + "\\n' \"$(cat /proc/cmdline)\" > /appended-cmdline\n" +
		"/bin/nix-closure-verify boot --cmdline /appended-cmdline\necho " + continuesMarker + "\n")
}

func TestClosureCheckAtBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "mkfs.ext4")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	fx := nixtest.Build(t)
	nixUKI := nixUKI(t)
	ncv := staticNCV(t)
	vmlinuz, modulesDir := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()

	// The manifest from Nix's own registration of the closure.
	m := fixtureManifest(t, fx)
	manifest := filepath.Join(dir, "manifest")
	if err := os.WriteFile(manifest, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}

	pristine := storeDisk(t, fx.Closure, nil)
	odd := ""
	for _, p := range fx.Closure {
		if strings.HasSuffix(p, "-odd-tree") {
			odd = p
		}
	}
	tampered := storeDisk(t, fx.Closure, func(root string) {
		flipByte(t, filepath.Join(root, odd, "seven"))
	})

	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modulesDir,
		Modules:    strings.Fields(storeDiskModules),
		Run:        []string{"/bin/sh", "/boot-check.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "boot-check.sh", Data: bootScript("mount -o ro /dev/vda /sysroot"), Perm: 0o755},
		},
	})
	// The same initrd, but the check reads the command line with a word
	// appended after the signed ones, as a stub's SMBIOS or addon
	// extension would append it (Debian 12's stub has neither).
	appendIrd := buildInitrd(t, t.TempDir(), initrd.Spec{
		ModulesDir: modulesDir,
		Modules:    strings.Fields(storeDiskModules),
		Run:        []string{"/bin/sh", "/boot-check.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "boot-check.sh", Data: appendedScript("mount -o ro /dev/vda /sysroot", "nix-closure-verify.store=off"), Perm: 0o755},
		},
	})
	build := func(name, initrd, line string, args ...string) string {
		out := filepath.Join(dir, name)
		run(t, nixUKI, append([]string{"build", "--stub", stub, "--linux", vmlinuz, "--initrd", initrd,
			"--cmdline", line, "--os-release", "@" + osRelease(t, dir),
			"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", out}, args...)...)
		return out
	}
	uki := func(name, params string) string {
		return build(name, ird, cmdline+" nix-closure-verify.root=/sysroot"+params, "--closure-manifest", manifest)
	}
	image := uki("uki.efi", "")
	warnImage := uki("uki-warn.efi", " nix-closure-verify.on-failure=warn")
	appendImage := build("uki-append.efi", appendIrd, cmdline+" nix-closure-verify.root=/sysroot", "--closure-manifest", manifest)
	bareImage := build("uki-bare.efi", ird, cmdline)

	t.Run("pristine store: the check passes and the boot goes on", func(t *testing.T) {
		t.Parallel()
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, image), Disks: []string{pristine}, ReadOnlyDisks: true})
		ctx := context.Background()
		if _, err := vm.WaitFor(ctx, storeOKRE); err != nil {
			t.Fatal(err)
		}
		if _, err := vm.WaitFor(ctx, continuesRE); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one flipped byte: the boot stops naming the path", func(t *testing.T) {
		t.Parallel()
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, image), Disks: []string{tampered}, ReadOnlyDisks: true})
		ctx := context.Background()
		failed := regexp.MustCompile("^nix-closure-verify: FAILED " + regexp.QuoteMeta(odd) + ": content-hash: ")
		if _, err := vm.WaitFor(ctx, failed); err != nil {
			t.Fatal(err)
		}
		if _, err := vm.WaitFor(ctx, bootStoppedRE); err != nil {
			t.Fatal(err)
		}
		if err := vm.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if continuesRE.MatchString(vm.Console.Log()) || strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the boot went on past a failed check")
		}
	})

	t.Run("on-failure=warn: the problem is shown loudly and the boot goes on", func(t *testing.T) {
		t.Parallel()
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, warnImage), Disks: []string{tampered}, ReadOnlyDisks: true})
		ctx := context.Background()
		for _, re := range []*regexp.Regexp{
			regexp.MustCompile("^nix-closure-verify: FAILED " + regexp.QuoteMeta(odd) + ": content-hash: "),
			regexp.MustCompile(`^nix-closure-verify: WARNING: the store could not be verified; booting anyway`),
			continuesRE,
		} {
			if _, err := vm.WaitFor(ctx, re); err != nil {
				t.Fatal(err)
			}
		}
	})

	// Issue 8: the signed settings decide; a word appended after the signed
	// command line cannot turn the check off.
	t.Run("store=off appended to the command line: refused, the boot stops", func(t *testing.T) {
		t.Parallel()
		bootStops(t, appendImage, tampered,
			regexp.MustCompile(`^nix-closure-verify: settings from the signed initrd$`),
			regexp.MustCompile(`^nix-closure-verify: nix-closure-verify\.store="off": the command line may make the check stricter, never weaker`))
	})

	// Issue 8: no parameters and no settings is not a pass.
	t.Run("no parameters and no settings: the boot stops", func(t *testing.T) {
		t.Parallel()
		bootStops(t, bareImage, pristine,
			regexp.MustCompile(`^nix-closure-verify: no signed settings and no nix-closure-verify\.\* parameters`))
	})

	t.Run("digest on the command line changed: the firmware refuses", func(t *testing.T) {
		t.Parallel()
		changed := filepath.Join(t.TempDir(), "uki.efi")
		data, err := os.ReadFile(image)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(data), "nix-closure-verify.digest=sha256:")
		if i < 0 {
			t.Fatal("no digest on the image's command line")
		}
		data[i+len("nix-closure-verify.digest=sha256:")] ^= 1
		if err := os.WriteFile(changed, data, 0o644); err != nil {
			t.Fatal(err)
		}
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, changed), Disks: []string{pristine}, ReadOnlyDisks: true})
		if _, err := vm.WaitFor(context.Background(), harness.RefusedRE); err != nil {
			t.Fatal(err)
		}
	})
}

// bootStops boots image with disk, waits for each line, then for the boot
// to stop (power off) without going on.
func bootStops(t *testing.T, image, disk string, lines ...*regexp.Regexp) {
	t.Helper()
	vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, image), Disks: []string{disk}, ReadOnlyDisks: true})
	ctx := context.Background()
	for _, re := range append(lines, bootStoppedRE) {
		if _, err := vm.WaitFor(ctx, re); err != nil {
			t.Fatal(err)
		}
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(vm.Console.Log(), continuesMarker) {
		t.Fatal("the boot went on")
	}
}

// storeDisk makes an ext4 image holding the closure under nix/store, with
// the store's canonical metadata (mkfs.ext4 -d keeps modes and mtimes).
// edit, when given, changes the copy before the image is made.
func storeDisk(t *testing.T, paths []string, edit func(root string)) string {
	t.Helper()
	root := storeTree(t, paths)
	if edit != nil {
		edit(root)
	}
	img := filepath.Join(t.TempDir(), "store.ext4")
	run(t, "mkfs.ext4", "-q", "-F", "-d", root, img, "64M")
	return img
}

// storeTree copies the store paths, metadata kept, under a new root's
// nix/store and returns the root.
func storeTree(t *testing.T, paths []string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	store := filepath.Join(root, "nix", "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", append(append([]string{"-a"}, paths...), store)...)
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", root).Run() })
	return root
}

// flipByte changes one byte of a read-only store file, keeping its size,
// mode and mtime, so only its content differs.
func flipByte(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 1
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, fi.Mode())
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
