//go:build vm

package vm

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 14: the Secure Boot ISO from `nix-uki iso`, booted with -cdrom
// (and as a raw disk) on firmware that trusts only Microsoft's keys,
// through Debian's Microsoft-signed shim, our certificate in MokList; and
// on the snakeoil firmware without shim.

const debianShim = "/usr/lib/shim/shimx64.efi.signed"

// isoScript runs in the ISO's initrd: the boot check finds the ISO, opens
// the store image through dm-verity and mounts it at /sysroot/nix/store;
// then every file of the store is read, and the kernel's MOK lines shown.
const isoScript = `/bin/nix-closure-verify boot || exit 1
if ! find /sysroot/nix/store -type f -exec cat {} + > /dev/null; then
  echo "NBS-STORE-READ-FAILED: I/O error reading the store image: boot stopped"; exit 1
fi
echo "NBS-STORE-READ-OK $(ls /sysroot/nix/store | wc -l) paths"
dmesg | grep "Loaded X.509 cert" | sed "s/^/NBS-KERNEL: /"
echo ` + continuesMarker + "\n"

const isoCertName = "nix-boot-security ISO test MOK"

// isoTimeout is only the VMs' safety net: every outcome is recognised from
// the console. A boot through shim with SHIM_VERBOSE prints thousands of
// lines on the serial console and took up to two minutes on a loaded
// 2-core machine.
const isoTimeout = 8 * time.Minute

var (
	isoMediumRE  = regexp.MustCompile(`^nix-closure-verify: medium \(label NBS_ISO_TEST, UUID [0-9-]+\) found at /dev/(sr0|vda), mounted read-only`)
	isoOpenedRE  = openedRE("squashfs")
	isoMountedRE = mountedRE("squashfs")
	mokLoadedRE  = regexp.MustCompile(`^NBS-KERNEL: .*integrity: Loaded X\.509 cert '` + isoCertName)
	// shim's refusal. Debian's shim 16.1 prints "Security Policy
	// Violation" for an unsigned image, an untrusted signature and an SBAT
	// revocation alike (shim.md saw "(0x1A) Security Violation" and a box
	// waiting for a key); SHIM_VERBOSE's lines before it give the reason.
	shimRefusedRE = regexp.MustCompile(`Verification failed: (\(0x1A\) Security Violation|Security Policy Violation)`)
	isoStoppedRE  = regexp.MustCompile(`^nix-closure-verify: (boot stopped; powering off|.*input/output error)$|^NBS-STORE-READ-FAILED`)
	verityBlockRE = regexp.MustCompile(`device-mapper: verity: .*: data block \d+ is corrupted`)
)

func TestISO(t *testing.T) {
	harness.NeedTools(t, stub, "go", "mksquashfs", "mkfs.erofs", "xorriso", "mkfs.vfat", "mcopy", debianShim)
	harness.NeedVMTools(t, harness.FirmwareMicrosoft)
	fx := nixtest.Build(t)
	nixUKI := nixUKI(t)
	ncv := staticNCV(t)
	vmlinuz, modulesDir := kernel(t)
	dir := t.TempDir()
	key, cert := isoKey(t, dir)
	otherKey, otherCert, err := harness.NewSigningKey(dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	snakeKey, snakeCert := snakeoil(t)
	reg := filepath.Join(dir, "registration")
	if err := os.WriteFile(reg, []byte(fx.Registration), 0o644); err != nil {
		t.Fatal(err)
	}
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modulesDir,
		Modules:    []string{"ahci", "sr_mod", "virtio_pci", "virtio_blk", "isofs", "loop", "dm_verity", "squashfs", "crc32c_generic", "erofs"},
		Run:        []string{"/bin/sh", "/iso-boot.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "iso-boot.sh", Data: []byte(isoScript), Perm: 0o755},
		},
	})
	build := func(name, key, cert string, extra ...string) string {
		out := filepath.Join(dir, name)
		if !strings.Contains(strings.Join(extra, " "), "--store-image") {
			extra = append(extra, "--closure-info", reg)
		}
		args := append([]string{"iso", "--stub", stub, "--linux", vmlinuz, "--initrd", ird, "--cmdline", cmdline,
			"--os-release", "@" + osRelease(t, dir), "--volume-label", "NBS_ISO_TEST",
			"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", out}, extra...)
		run(t, nixUKI, args...)
		return out
	}
	good := build("good.iso", key, cert, "--shim", debianShim)
	other := build("other-key.iso", otherKey, otherCert, "--shim", debianShim)
	revoked := build("sbat-revoked.iso", key, cert, "--shim", debianShim,
		"--sbat", "grub,1,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/")
	direct := build("direct.iso", snakeKey, snakeCert)
	// A UKI larger than El Torito's 16-bit count of 512-byte sectors
	// (32 MiB) can describe: a second initrd of 40 MiB of random bytes.
	padDir := filepath.Join(dir, "pad")
	if err := os.MkdirAll(padDir, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "dd", "if=/dev/urandom", "of="+filepath.Join(padDir, "padding"), "bs=1M", "count=40")
	padCpio := filepath.Join(dir, "padding.cpio")
	run(t, "sh", "-c", "cd "+padDir+" && echo padding | cpio -o -H newc > "+padCpio)
	large := build("large.iso", snakeKey, snakeCert, "--initrd", padCpio)
	// The tampered ISO carries a store image made here (--store-image),
	// uncompressed so that a byte of a known file can be found and
	// flipped inside the ISO: the compressed fixture is a single block,
	// which open itself refuses (its hash is the root hash).
	storeImg := filepath.Join(dir, "store.squashfs")
	run(t, "mksquashfs", append(append([]string(nil), fx.Closure...), storeImg,
		"-noappend", "-quiet", "-all-root", "-no-xattrs", "-noI", "-noD", "-noF", "-noX")...)
	manifest := filepath.Join(dir, "manifest")
	run(t, ncv, "manifest", "--closure-info", reg, "--output", manifest)
	plain := build("plain-store.iso", key, cert, "--shim", debianShim, "--store-image", storeImg, "--closure-manifest", manifest)
	tampered := tamperStoreImage(t, plain, dir)
	// A prebuilt erofs image (mkfs.erofs over a copy of the closure), named
	// /nix-store.erofs on the ISO and mounted as erofs.
	erofsRoot := filepath.Join(dir, "erofs-root")
	if err := os.MkdirAll(erofsRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", append(append([]string{"-a"}, fx.Closure...), erofsRoot)...)
	// Debian 12's mkfs.erofs (erofs-utils 1.5) fails on the fixture's
	// 255-byte name ("Could not format the device: No such file or
	// directory"): that one entry is left out of the erofs image.
	run(t, "chmod", "-R", "u+w", erofsRoot)
	run(t, "find", erofsRoot, "-regextype", "posix-extended", "-regex", ".*/[^/]{250,}", "-delete")
	erofsImg := filepath.Join(dir, "store.erofs")
	run(t, "mkfs.erofs", "--quiet", "--all-root", "-T0", erofsImg, erofsRoot)
	erofsISO := build("erofs.iso", snakeKey, snakeCert, "--store-image", erofsImg, "--closure-manifest", manifest)
	unsigned := stripUKISignature(t, good, dir)

	// cdrom boots iso as a CD; on the Microsoft firmware, with our
	// certificate in MokList and, when verbose, SHIM_VERBOSE (for the
	// refusals: its thousands of lines slow a boot down).
	cdrom := func(t *testing.T, iso string, fw harness.Firmware, verbose bool) *harness.VM {
		cfg := harness.Config{Firmware: fw, ExtraArgs: []string{"-cdrom", iso}, Timeout: isoTimeout}
		if fw == harness.FirmwareMicrosoft {
			cfg.VarsFile = mokVars(t, cert, verbose)
		}
		return harness.Boot(t, cfg)
	}
	bootsAndReads := func(t *testing.T, vm *harness.VM, mok bool, fs ...string) {
		res := []*regexp.Regexp{isoMediumRE, isoOpenedRE, isoMountedRE, storeReadOKRE}
		if len(fs) == 1 {
			res[1], res[2] = openedRE(fs[0]), mountedRE(fs[0])
		}
		if mok {
			res = append(res, mokLoadedRE)
		}
		waitAll(t, vm, append(res, continuesRE)...)
	}
	refusedByShim := func(t *testing.T, vm *harness.VM, reason *regexp.Regexp) {
		ctx := context.Background()
		if _, err := vm.WaitFor(ctx, shimRefusedRE); err != nil {
			t.Fatal(err)
		}
		vm.Close() // shim waits for a key press: stop at once
		if log := vm.Console.Log(); !reason.MatchString(log) {
			t.Errorf("shim's refusal does not give the reason %q", reason)
		}
		if strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the refused image booted")
		}
	}

	t.Run("MOK enrolled: boots from -cdrom, store opened through dm-verity and read", func(t *testing.T) {
		t.Parallel()
		bootsAndReads(t, cdrom(t, good, harness.FirmwareMicrosoft, false), true)
	})
	t.Run("one flipped byte in the store image: read fails, boot stops", func(t *testing.T) {
		t.Parallel()
		vm := cdrom(t, tampered, harness.FirmwareMicrosoft, false)
		waitAll(t, vm, isoOpenedRE, verityBlockRE, isoStoppedRE)
		if err := vm.Wait(context.Background()); err != nil || strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatalf("the boot went on past a corrupted store image (%v)", err)
		}
	})
	t.Run("UKI unsigned: shim refuses", func(t *testing.T) {
		t.Parallel()
		refusedByShim(t, cdrom(t, unsigned, harness.FirmwareMicrosoft, true), regexp.MustCompile(`verify_buffer_authenticode\(\) No signatures found`))
	})
	t.Run("UKI signed by another key: shim refuses", func(t *testing.T) {
		t.Parallel()
		refusedByShim(t, cdrom(t, other, harness.FirmwareMicrosoft, true), regexp.MustCompile(`check_db_cert\(MokListRT, sha256hash\) != DATA_FOUND`))
	})
	t.Run("SBAT generation below shim's level: refused as revoked", func(t *testing.T) {
		t.Parallel()
		refusedByShim(t, cdrom(t, revoked, harness.FirmwareMicrosoft, true), regexp.MustCompile(`component grub, generation 1, was revoked by SbatLevel variable`))
	})
	t.Run("the same ISO as a raw disk (USB) boots", func(t *testing.T) {
		t.Parallel()
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareMicrosoft, VarsFile: mokVars(t, cert, false),
			Disks: []string{good}, ReadOnlyDisks: true, Timeout: isoTimeout})
		bootsAndReads(t, vm, true)
	})
	t.Run("prebuilt erofs store image boots", func(t *testing.T) {
		t.Parallel()
		bootsAndReads(t, cdrom(t, erofsISO, harness.FirmwareSecureBoot, false), false, "erofs")
	})
	t.Run("UKI over 32 MiB boots from -cdrom", func(t *testing.T) {
		t.Parallel()
		bootsAndReads(t, cdrom(t, large, harness.FirmwareSecureBoot, false), false)
	})
	t.Run("snakeoil firmware, our key in db, no shim: boots directly", func(t *testing.T) {
		t.Parallel()
		bootsAndReads(t, cdrom(t, direct, harness.FirmwareSecureBoot, false), false)
	})
}

// openedRE and mountedRE match the boot check's lines for a store image of
// file system fs on the medium.
func openedRE(fs string) *regexp.Regexp {
	return regexp.MustCompile(`^nix-closure-verify: store image /run/nix-closure-verify/medium/nix-store\.` + fs + ` opened through dm-verity`)
}

func mountedRE(fs string) *regexp.Regexp {
	return regexp.MustCompile(`^nix-closure-verify: store image mounted read-only at /sysroot/nix/store \(` + fs + `\)$`)
}

// waitAll waits for each pattern in turn on the console.
func waitAll(t *testing.T, vm *harness.VM, res ...*regexp.Regexp) {
	t.Helper()
	for _, re := range res {
		if _, err := vm.WaitFor(context.Background(), re); err != nil {
			t.Fatal(err)
		}
	}
}

// isoKey makes the MOK: an RSA 2048 code signing certificate.
func isoKey(t *testing.T, dir string) (key, cert string) {
	t.Helper()
	key, cert = filepath.Join(dir, "mok.key"), filepath.Join(dir, "mok.pem")
	run(t, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-subj", "/CN="+isoCertName, "-days", "3650", "-addext", "extendedKeyUsage=codeSigning")
	return key, cert
}

// mokVars writes a copy of the Microsoft-keys variable store with our
// certificate in MokList and, when verbose, SHIM_VERBOSE set
// (pkg/ovmfvars), one per VM.
func mokVars(t *testing.T, certPath string, verbose bool) string {
	t.Helper()
	data, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM certificate in", certPath)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
	s, err := ovmfvars.Open(harness.FirmwareMicrosoft.Vars)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := efivar.ParseGUID("4e425349-534f-4d4f-4b00-000000000001")
	if err := s.SetMokList(owner, block.Bytes); err != nil {
		t.Fatal(err)
	}
	if verbose {
		if err := s.SetShimVerbose(); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "OVMF_VARS_4M.ms+mok.fd")
	if err := s.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// extract copies one file out of an ISO with xorriso.
func extract(t *testing.T, iso, path, dir string) []byte {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(path))
	os.Remove(out)
	run(t, "xorriso", "-osirrox", "on", "-indev", iso, "-extract", path, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tamperStoreImage copies iso with one byte of the fixture's big file
// (700000 bytes of "z", stored uncompressed) flipped inside the store
// image, its tree and root hash left as they were, as an attacker would
// leave them.
func tamperStoreImage(t *testing.T, iso, dir string) string {
	t.Helper()
	data, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, bytes.Repeat([]byte("z"), 4096))
	if at < 0 {
		t.Fatal("the big fixture file is not stored uncompressed in the ISO's store image")
	}
	data[at+300000] ^= 1 // well inside the file, past the blocks mount reads
	out := filepath.Join(dir, "tampered.iso")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// stripUKISignature copies iso with the UKI (grubx64.efi) made unsigned:
// its certificate table directory entry zeroed, in every copy of the EFI
// boot image (the El Torito file and the appended partition).
func stripUKISignature(t *testing.T, iso, dir string) string {
	t.Helper()
	scratch := t.TempDir()
	efi := extract(t, iso, "/boot/efiboot.img", scratch)
	efiPath := filepath.Join(scratch, "efiboot.img")
	ukiPath := filepath.Join(scratch, "grubx64.efi")
	cmd := []string{"-i", efiPath, "::/EFI/BOOT/grubx64.efi", ukiPath}
	os.Setenv("MTOOLS_SKIP_CHECK", "1")
	run(t, "mcopy", cmd...)
	uki, err := os.ReadFile(ukiPath)
	if err != nil {
		t.Fatal(err)
	}
	// PE32+: the certificate table is data directory 4, at optional header
	// offset 112 + 4*8 (peOffset + 24 is the optional header).
	pe := int(binary.LittleEndian.Uint32(uki[0x3c:]))
	entry := pe + 24 + 112 + 4*8
	if binary.LittleEndian.Uint32(uki[entry+4:]) == 0 {
		t.Fatal("the UKI is not signed")
	}
	head := uki[:4096]
	data, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := 0; ; {
		i := bytes.Index(data[off:], head)
		if i < 0 {
			break
		}
		copy(data[off+i+entry:off+i+entry+8], make([]byte, 8))
		off += i + len(head)
		n++
	}
	if n != 2 || len(efi) == 0 {
		t.Fatalf("the UKI found %d times in the ISO, want 2 (El Torito image and partition)", n)
	}
	out := filepath.Join(dir, "unsigned.iso")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
