//go:build vm

package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// `nix-closure-verify image open` and `close` against a real kernel's
// device-mapper (moved here from cmd/nix-closure-verify, issue 9).

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

# So is a tree inside the data it covers on the image's own device.
$ncv image open --name store --root-hash "$root" --hash-offset 409600 /img/inside.img; step overlap $?
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
	harness.NeedTools(t, "mksquashfs", "go")
	harness.NeedVMTools(t, harness.FirmwarePlain)
	dir := t.TempDir()
	ncv := staticNCV(t)
	vmlinuz, modules := kernel(t)

	// A squashfs store image with a 3 MiB random file, its tree, and a copy
	// with one byte of the file flipped.
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	blob := randomFile(t, filepath.Join(src, "blob"), 768)
	blobSum := sha256.Sum256(blob)
	img := filepath.Join(dir, "store.img")
	run(t, "mksquashfs", src, img, "-noappend", "-quiet", "-all-root")
	root := imageFormat(t, ncv, img)
	data, _ := os.ReadFile(img)
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x55
	wrong := []byte(root)
	wrong[0] = otherHexDigit(wrong[0])
	tree, _ := os.ReadFile(img + ".verity")
	inside := bytes.Clone(data)
	copy(inside[100*4096:], tree)

	big := filepath.Join(dir, "big.img")
	randomFile(t, big, 64<<8)
	bigRoot := imageFormat(t, ncv, big)

	probeFiles := []initrd.File{
		{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
		{Name: "bin/probe", Data: []byte(imageProbe), Perm: 0o755},
		{Name: "img/store.img", Data: data, Perm: 0o644},
		{Name: "img/store.img.verity", Data: tree, Perm: 0o644},
		{Name: "img/bad.img", Data: bad, Perm: 0o644},
		{Name: "img/inside.img", Data: inside, Perm: 0o644},
		{Name: "img/root", Data: []byte(root), Perm: 0o644},
		{Name: "img/wrong", Data: wrong, Perm: 0o644},
		{Name: "img/bigroot", Data: []byte(bigRoot), Perm: 0o644},
	}
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"virtio_pci", "virtio_blk", "loop", "squashfs", "dm-verity"},
		Marker:     "NBS-IMAGE-VM",
		Run:        []string{"/bin/probe"},
		Files:      probeFiles,
	})

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
		{`^step overlap `, "step overlap exit=2"},
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
		"hash area overlaps the data area",
		"verity corruption: 1 bad data block(s)",
	} {
		if !strings.Contains(log, msg) {
			t.Errorf("console does not say %q", msg)
		}
	}
	t.Logf("boot to power-off took %s", time.Since(start).Round(100*time.Millisecond))
}

// imageFormat runs `image format` on img with a fixed salt and UUID, the
// tree going to img.verity, and returns the root hash.
func imageFormat(t *testing.T, ncv, img string) string {
	t.Helper()
	var r struct {
		RootHash string `json:"rootHash"`
	}
	out := run(t, ncv, "image", "format", img, "--json",
		"--salt", "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed",
		"--uuid", "01234567-89ab-4def-8123-456789abcdef")
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.RootHash) != 64 {
		t.Fatalf("image format printed %q (%v)", out, err)
	}
	return r.RootHash
}

// randomFile writes blocks 4096-byte blocks of seeded random bytes to path.
func randomFile(t *testing.T, path string, blocks int) []byte {
	t.Helper()
	b := make([]byte, blocks*4096)
	r := rand.New(rand.NewPCG(uint64(blocks), 0))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// otherHexDigit returns a hex digit other than c, so a changed root hash
// stays well-formed.
func otherHexDigit(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}
