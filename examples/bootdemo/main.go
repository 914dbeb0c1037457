// Command bootdemo is the end-to-end demo of README's main-job command:
// it builds a Secure Boot signed UKI that carries a closure's manifest,
// boots it in QEMU with OVMF enforcing Secure Boot, shows the store check
// passing, shows the firmware refusing a copy of the image whose manifest
// digest was changed, then flips one byte of one store file and shows the
// boot stopping with the path named.
//
//	go run ./examples/bootdemo --closure /nix/store/...-demo-system --out out/demo
//
// It expects nix-uki and nix-closure-verify (static) in OUT/bin, as
// scripts/demo builds them.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

const stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// shown are the console lines worth showing; the whole console goes to a log.
var shown = regexp.MustCompile(`nix-closure-verify|NBS-|Access Denied|verity|Linux version`)

func main() {
	top := flag.String("closure", "", "top-level store path of the closure to boot with")
	out := flag.String("out", "out/demo", "working directory (holds bin/)")
	flag.Parse()
	if err := run(*top, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bootdemo:", err)
		os.Exit(1)
	}
}

func run(top, out string) error {
	if top == "" {
		return fmt.Errorf("--closure is required")
	}
	out, _ = filepath.Abs(out)
	bin := filepath.Join(out, "bin")
	ncv, nixUKI := filepath.Join(bin, "nix-closure-verify"), filepath.Join(bin, "nix-uki")
	work := filepath.Join(out, "boot")
	if err := removeAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}

	step("record the closure's manifest")
	manifest := filepath.Join(work, "manifest")
	if err := sh(ncv, "manifest", "--rehash", top, "--output", manifest); err != nil {
		return err
	}
	paths, err := output("nix-store", "-qR", top)
	if err != nil {
		return err
	}

	step("make the system disk: the closure on ext4, as /sysroot/nix/store")
	root := filepath.Join(work, "root")
	os.MkdirAll(filepath.Join(root, "nix", "store"), 0o755)
	if err := sh("cp", append(append([]string{"-a"}, strings.Fields(paths)...), filepath.Join(root, "nix", "store"))...); err != nil {
		return err
	}
	disk := filepath.Join(work, "system.ext4")
	if err := sh("mkfs.ext4", "-q", "-F", "-d", root, disk, "32M"); err != nil {
		return err
	}

	step("build a busybox initrd with the static nix-closure-verify and the modules to mount the disk")
	vmlinuz, version, err := initrd.FindKernel("/boot", initrd.DefaultModulesDir)
	if err != nil {
		return err
	}
	script := "mkdir -p /sysroot\nmount -o ro /dev/vda /sysroot\n/bin/nix-closure-verify boot\necho NBS-DEMO: the boot goes on: switching root would happen here\n"
	ird := filepath.Join(work, "initrd.cpio")
	if err := initrd.WriteFile(ird, initrd.Spec{
		ModulesDir: filepath.Join(initrd.DefaultModulesDir, version),
		Modules:    []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4"},
		Run:        []string{"/bin/sh", "/boot-check.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "boot-check.sh", Data: []byte(script), Perm: 0o755},
		},
	}); err != nil {
		return err
	}

	step("build the UKI with the manifest inside, signed with the firmware's db key (OVMF snakeoil)")
	key, cert, err := harness.SnakeoilKey(work)
	if err != nil {
		return err
	}
	uki := filepath.Join(work, "nixos.efi")
	osrel := filepath.Join(work, "os-release")
	os.WriteFile(osrel, []byte("ID=nixos\nNAME=\"nix-boot-security demo\"\n"), 0o644)
	if err := sh(nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
		"--cmdline", "console=ttyS0 quiet panic=-1 nix-closure-verify.root=/sysroot", "--os-release", "@"+osrel,
		"--closure-manifest", manifest, "--secureboot-private-key", key, "--secureboot-certificate", cert,
		"--output", uki); err != nil {
		return err
	}
	if err := sh(nixUKI, "verify", "--cert", cert, uki); err != nil {
		return err
	}
	esp := filepath.Join(work, "esp")
	os.MkdirAll(filepath.Join(esp, "EFI", "BOOT"), 0o755)
	if err := sh("cp", uki, filepath.Join(esp, "EFI", "BOOT", "BOOTX64.EFI")); err != nil {
		return err
	}

	step("boot it: QEMU, OVMF with Secure Boot enforced (software emulation: 15 s to a few minutes on a busy machine)")
	if err := boot(esp, disk, filepath.Join(work, "console-pristine.log"), nil, "nix-closure-verify: store ok", "NBS-DEMO"); err != nil {
		return err
	}

	// The manifest is tied to the image by its digest on the command line;
	// the command line is inside the signed image. Change one digit of the
	// digest, leave the signature as it was: the signature no longer
	// matches, and the firmware refuses to start the image at all.
	changed := filepath.Join(work, "nixos-digest-changed.efi")
	step("change one digit of the manifest digest on the signed image's command line (" + filepath.Base(changed) + ")")
	if err := changeDigest(uki, changed); err != nil {
		return err
	}
	fmt.Println("$ nix-uki verify --cert " + cert + " " + changed)
	verify := exec.Command(nixUKI, "verify", "--cert", cert, changed)
	verify.Stdout, verify.Stderr = os.Stdout, os.Stdout
	if err := verify.Run(); verify.ProcessState == nil || verify.ProcessState.ExitCode() != 1 {
		return fmt.Errorf("nix-uki verify on the image whose digest was changed: %v (want exit status 1)", err)
	}
	fmt.Println("  (exit status 1: the signature does not cover this image any more)")
	step("boot it: the firmware refuses the image before any of it runs")
	espChanged := filepath.Join(work, "esp-digest-changed")
	os.MkdirAll(filepath.Join(espChanged, "EFI", "BOOT"), 0o755)
	if err := sh("cp", changed, filepath.Join(espChanged, "EFI", "BOOT", "BOOTX64.EFI")); err != nil {
		return err
	}
	if err := boot(espChanged, disk, filepath.Join(work, "console-digest-changed.log"), harness.RefusedRE, "Access Denied", "!nix-closure-verify:", "!NBS-DEMO"); err != nil {
		return err
	}

	var victim string
	for _, p := range strings.Fields(paths) {
		if strings.Contains(p, "-demo-hello") {
			victim = filepath.Join(root, p, "bin", "hello")
		}
	}
	step("tamper: flip one byte of " + strings.TrimPrefix(victim, root) + " on the system disk (size, mode, mtime kept)")
	if err := flip(victim); err != nil {
		return err
	}
	if err := sh("mkfs.ext4", "-q", "-F", "-d", root, disk, "32M"); err != nil {
		return err
	}

	step("boot again: the check names the path and stops the boot")
	if err := boot(esp, disk, filepath.Join(work, "console-tampered.log"), nil, "FAILED /nix/store/", "boot stopped", "!NBS-DEMO"); err != nil {
		return err
	}
	fmt.Println("\ndemo: ok: the signed boot checked the store, the firmware refused the image once its manifest digest changed, and the boot stopped once one store byte changed")
	return nil
}

// changeDigest copies the image at src to dst with one hex digit of the
// manifest digest on its command line changed, in place: same size, same
// signature.
func changeDigest(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	param := []byte(closure.DigestParam + "=sha256:")
	i := bytes.Index(data, param)
	if i < 0 {
		return fmt.Errorf("%s: no %s on the command line", src, closure.DigestParam)
	}
	d := &data[i+len(param)]
	if *d == '0' {
		*d = '1'
	} else {
		*d = '0'
	}
	return os.WriteFile(dst, data, 0o644)
}

// bootTimeLimit bounds one VM's life: a software-emulated boot takes about
// 15 s on an idle machine, minutes on a busy one.
const bootTimeLimit = 5 * time.Minute

// boot runs one VM until it powers off, or until a console line matches
// stopAt (when not nil: the firmware's refusal, after which OVMF would only
// try other boot options). It shows the interesting console lines as they
// come, with a line every 15 s of silence so a slow boot does not look hung,
// and checks that each expected text appears (or, with a leading "!", does
// not).
func boot(esp, disk, logPath string, stopAt *regexp.Regexp, expect ...string) error {
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeLimit)
	defer cancel()
	vm, err := harness.Start(ctx, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: esp,
		Disks: []string{disk}, ConsoleCopy: logFile, Timeout: bootTimeLimit})
	if err != nil {
		return err
	}
	defer vm.Close()

	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			line, err := vm.WaitFor(ctx, shown)
			if err != nil {
				return // the VM exited (or the time limit passed): Wait says which
			}
			select {
			case lines <- line:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	stopped := false
	for !stopped {
		select {
		case line, ok := <-lines:
			if !ok {
				stopped = true
				break
			}
			fmt.Println("  console> " + strings.TrimSpace(line))
			if stopAt != nil && stopAt.MatchString(line) {
				stopped = true
			}
		case <-tick.C:
			fmt.Printf("  ... %d s, still booting\n", int(time.Since(start).Seconds()))
		}
	}
	if stopAt == nil {
		err = vm.Wait(ctx)
	}
	fmt.Printf("  (%d s; whole console: %s)\n", int(time.Since(start).Seconds()), logPath)
	if err != nil {
		return err
	}
	for _, e := range expect {
		text, absent := strings.CutPrefix(e, "!")
		if strings.Contains(vm.Console.Log(), text) == absent {
			return fmt.Errorf("unexpected boot: console %s %q", map[bool]string{true: "has", false: "lacks"}[absent], text)
		}
	}
	return nil
}

func flip(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	data[len(data)/2] ^= 1
	os.Chmod(filepath.Dir(p), 0o755)
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	os.Chmod(p, fi.Mode())
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	os.Chmod(filepath.Dir(p), 0o555)
	return nil
}

// removeAll removes dir even where an earlier run left read-only
// directories (a store copy keeps Nix's 0555).
func removeAll(dir string) error {
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func step(s string) { fmt.Printf("\n== %s\n", s) }

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func output(name string, args ...string) (string, error) {
	b, err := exec.Command(name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(b), nil
}
