//go:build vm

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// imageProbe runs in the initrd of Debian's kernel, where device-mapper and
// dm-verity are modules: `image open` talks to the real kernel there. Each
// step prints "step NAME exit=N" (and a few values) for the test to check.
const imageProbe = `#!/bin/sh
ncv=/bin/nix-closure-verify
root=$(cat /img/root)
step() { echo "step $1 exit=$2"; }
mods=$(dirname "$(find /lib/modules -name 'dm-mod.ko*' | head -n 1)")

# Without the verity target, then without device-mapper at all: clear
# errors, nothing left behind.
rmmod dm_verity
$ncv image open --name store --root-hash "$root" /img/store.img; step no-target $?
rmmod dm_bufio dm_mod
$ncv image open --name store --root-hash "$root" /img/store.img; step no-dm $?
insmod "$mods/dm-mod.ko" && insmod "$mods/dm-bufio.ko" && insmod "$mods/dm-verity.ko"; step reload $?
echo "devices=$(ls /dev/mapper | grep -v control | wc -l)"

# A wrong root hash is refused before anything is set up.
$ncv image open --name store --root-hash "$(cat /img/wrong)" /img/store.img; step wrong-root $?
echo "devices=$(ls /dev/mapper | grep -v control | wc -l)"

# The image file through a loop device: mount it and read a file.
$ncv image open --name store --root-hash "$root" /img/store.img; step open-file $?
mkdir -p /mnt
mount -t squashfs -o ro /dev/mapper/store /mnt; step mount $?
echo "blob=$(sha256sum /mnt/blob | cut -d' ' -f1)"
umount /mnt
$ncv image close --name store; step close $?
test -e /dev/mapper/store; step node-left $?
sleep 1
echo "loops=$(cat /sys/block/loop*/loop/backing_file 2>/dev/null | wc -l)"

# Block devices as they are: image on /dev/vda, tree on /dev/vdb.
$ncv image open --name blk --root-hash "$root" --hash-file /dev/vdb /dev/vda; step open-blk $?
cmp /dev/mapper/blk /img/store.img; step cmp-blk $?
$ncv image close --name blk; step close-blk $?

# A corrupted image with the good tree: open succeeds (the top of the tree
# is right), the kernel refuses the bad block when it is read.
$ncv image open --name bad --root-hash "$root" --hash-file /img/store.img.verity /img/bad.img; step open-bad $?
dd if=/dev/mapper/bad of=/dev/null bs=4096 2>/dev/null; step read-bad $?
$ncv image close --name bad; step close-bad $?
$ncv image verify --root-hash "$root" --hash-file /img/store.img.verity /img/bad.img; step verify-bad $?

# What each costs before the store can be used, on a 64 MiB disk (TCG, so
# only the ratio means anything).
up() { cut -d' ' -f1 /proc/uptime; }
a=$(up); $ncv image open --name big --root-hash "$(cat /img/bigroot)" --hash-file /dev/vdd /dev/vdc > /dev/null; step open-big $?
b=$(up); $ncv image sha256 /dev/vdc > /dev/null
c=$(up); echo "timing open=$(awk "BEGIN{print $b-$a}") sha256=$(awk "BEGIN{print $c-$b}")"
$ncv image close --name big
exit 0
`

func TestImageOpenInVM(t *testing.T) {
	harness.NeedTools(t, "mksquashfs", harness.FirmwarePlain.Code)
	dir := t.TempDir()
	ncv := vmBinary(t, dir)

	vmlinuz, version, err := initrd.FindKernel("/boot", initrd.DefaultModulesDir)
	if err != nil {
		harness.NeedTools(t, "/boot/vmlinuz (linux-image-amd64)")
		t.Fatal(err)
	}
	modules := filepath.Join(initrd.DefaultModulesDir, version)

	// A squashfs store image with a 3 MiB random file, its tree, and a copy
	// with one byte of the file flipped.
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	blob := makeTestImage(t, filepath.Join(src, "blob"), 768, 0)
	blobSum := sha256.Sum256(blob)
	img := filepath.Join(dir, "store.img")
	if out, err := exec.Command("mksquashfs", src, img, "-noappend", "-quiet", "-all-root").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	out, err := exec.Command(ncv, "image", "format", img, "--salt", imgSalt, "--uuid", imgUUID).Output()
	if err != nil {
		t.Fatalf("image format: %v", err)
	}
	root := keyValues(string(out))["root-hash"]
	data, _ := os.ReadFile(img)
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x55
	wrong := []byte(root)
	wrong[0] = otherHexDigit(wrong[0])
	tree, _ := os.ReadFile(img + ".verity")

	big := filepath.Join(dir, "big.img")
	makeTestImage(t, big, 64<<8, 0)
	out, err = exec.Command(ncv, "image", "format", big, "--salt", imgSalt, "--uuid", imgUUID).Output()
	if err != nil {
		t.Fatalf("image format: %v", err)
	}
	bigRoot := keyValues(string(out))["root-hash"]

	probeFiles := []initrd.File{
		{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
		{Name: "bin/probe", Data: []byte(imageProbe), Perm: 0o755},
		{Name: "img/store.img", Data: data, Perm: 0o644},
		{Name: "img/store.img.verity", Data: tree, Perm: 0o644},
		{Name: "img/bad.img", Data: bad, Perm: 0o644},
		{Name: "img/root", Data: []byte(root), Perm: 0o644},
		{Name: "img/wrong", Data: wrong, Perm: 0o644},
		{Name: "img/bigroot", Data: []byte(bigRoot), Perm: 0o644},
	}
	ird := filepath.Join(dir, "initrd.cpio")
	if err := initrd.WriteFile(ird, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"virtio_pci", "virtio_blk", "loop", "squashfs", "dm-verity"},
		Marker:     "NBS-IMAGE-VM",
		Run:        []string{"/bin/probe"},
		Files:      probeFiles,
	}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	vm := harness.Boot(t, harness.Config{
		Firmware:  harness.FirmwarePlain,
		Disks:     []string{img, img + ".verity", big, big + ".verity"},
		MemoryMiB: 512,
		Timeout:   3 * time.Minute,
		ExtraArgs: []string{"-kernel", vmlinuz, "-initrd", ird, "-append", "console=ttyS0 quiet panic=-1"},
	})
	ctx := context.Background()
	want := []struct {
		re   string
		line string
	}{
		{`^step no-target `, "step no-target exit=2"},
		{`^step no-dm `, "step no-dm exit=2"},
		{`^step reload `, "step reload exit=0"},
		{`^devices=`, "devices=0"},
		{`^step wrong-root `, "step wrong-root exit=1"},
		{`^devices=`, "devices=0"},
		{`^step open-file `, "step open-file exit=0"},
		{`^step mount `, "step mount exit=0"},
		{`^blob=`, "blob=" + hex.EncodeToString(blobSum[:])},
		{`^step close `, "step close exit=0"},
		{`^step node-left `, "step node-left exit=1"},
		{`^loops=`, "loops=0"},
		{`^step open-blk `, "step open-blk exit=0"},
		{`^step cmp-blk `, "step cmp-blk exit=0"},
		{`^step close-blk `, "step close-blk exit=0"},
		{`^step open-bad `, "step open-bad exit=0"},
		{`^step read-bad `, "step read-bad exit=1"},
		{`^step close-bad `, "step close-bad exit=0"},
		{`^step verify-bad `, "step verify-bad exit=1"},
		{`^step open-big `, "step open-big exit=0"},
		{initrd.ExitStatusRE.String(), initrd.ExitStatusPrefix + "0"},
	}
	for _, w := range want {
		line, err := vm.WaitFor(ctx, regexp.MustCompile(w.re))
		if err != nil {
			t.Fatal(err)
		}
		if line != w.line {
			t.Errorf("got %q, want %q", line, w.line)
		}
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	log := vm.Console.Log()
	if m := regexp.MustCompile(`(?m)^timing .*$`).FindString(log); m != "" {
		t.Logf("in the VM (TCG), seconds for a 64 MiB image: %s", m)
	}
	for _, msg := range []string{
		"device-mapper target not available: \"verity\" (load dm-verity)",
		"no device-mapper in the kernel (load dm-mod)",
		"root hash does not match",
		"verity corruption: 1 bad data block(s)",
	} {
		if !strings.Contains(log, msg) {
			t.Errorf("console does not say %q", msg)
		}
	}
	t.Logf("boot to power-off took %s", time.Since(start).Round(100*time.Millisecond))
}

// vmBinary is the static nix-closure-verify the initrd runs: NBS_NCV when
// set, else built from this package.
func vmBinary(t *testing.T, dir string) string {
	t.Helper()
	if p := os.Getenv("NBS_NCV"); p != "" {
		return p
	}
	bin := filepath.Join(dir, "nix-closure-verify")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "image", "--help").CombinedOutput(); err != nil {
		t.Fatalf("%s has no image command (imageCommand() not in main.go's table?): %v\n%s", bin, err, fmt.Sprint(string(out)))
	}
	return bin
}

// otherHexDigit returns a hex digit other than c, so a changed root hash
// stays well-formed.
func otherHexDigit(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}
