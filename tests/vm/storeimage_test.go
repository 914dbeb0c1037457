//go:build vm

package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 5, store images: the closure as a squashfs image, its dm-verity
// tree on a second disk, the root hash on the signed command line.
// `nix-closure-verify boot` opens the image through device-mapper; the
// kernel then verifies every block as it is read.

const verityScript = `/bin/nix-closure-verify boot || exit 1
mkdir -p /sysroot
if ! mount -t squashfs -o ro /dev/mapper/nix-store /sysroot; then
  echo "NBS-STORE-READ-FAILED: cannot mount the store image: boot stopped"; exit 1
fi
if ! find /sysroot -type f -exec cat {} + > /dev/null; then
  echo "NBS-STORE-READ-FAILED: I/O error reading the store image: boot stopped"; exit 1
fi
echo "NBS-STORE-READ-OK $(find /sysroot/nix/store -mindepth 1 -maxdepth 1 | wc -l) paths"
echo ` + continuesMarker + "\n"

var (
	storeReadOKRE     = regexp.MustCompile(`^NBS-STORE-READ-OK \d+ paths$`)
	storeReadFailedRE = regexp.MustCompile(`^NBS-STORE-READ-FAILED: I/O error reading the store image: boot stopped$`)
	verityOpenedRE    = regexp.MustCompile(`^nix-closure-verify: store image /dev/vda opened through dm-verity as /dev/mapper/nix-store`)
	corruptedBlockRE  = regexp.MustCompile(`device-mapper: verity: .*: data block \d+ is corrupted`)
)

func TestStoreImageAtBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "mksquashfs")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	fx := nixtest.Build(t)
	nixUKI := nixUKI(t)
	ncv := staticNCV(t)
	vmlinuz, modulesDir := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()

	// The store image, uncompressed so that a known file's bytes can be
	// found and flipped, and its hash tree made by our `image format`.
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "nix", "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", append(append([]string{"-a"}, fx.Closure...), filepath.Join(root, "nix", "store"))...)
	t.Cleanup(func() { run(t, "chmod", "-R", "u+w", root) })
	img := filepath.Join(dir, "store.squashfs")
	run(t, "mksquashfs", root, img, "-noappend", "-quiet", "-all-root", "-noI", "-noD", "-noF", "-noX")
	tree := img + ".verity"
	var format struct {
		RootHash string `json:"rootHash"`
	}
	if err := json.Unmarshal([]byte(run(t, ncv, "image", "format", img, "--hash-file", tree, "--json")), &format); err != nil {
		t.Fatal(err)
	}

	// The same image with one byte of a store file's data flipped; its tree
	// and root hash are the pristine ones, as an attacker would leave them.
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, bytes.Repeat([]byte("z"), 4096))
	if at < 0 {
		t.Fatal("the big fixture file is not stored uncompressed in the image")
	}
	data[at+300000] ^= 1 // well inside the 700000-byte file, past the blocks mount reads
	tampered := filepath.Join(dir, "tampered.squashfs")
	if err := os.WriteFile(tampered, data, 0o644); err != nil {
		t.Fatal(err)
	}

	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modulesDir,
		Modules:    []string{"virtio_pci", "virtio_blk", "dm_verity", "squashfs"},
		Run:        []string{"/bin/sh", "/boot-check.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "boot-check.sh", Data: []byte(verityScript), Perm: 0o755},
		},
	})
	uki := func(name, rootHash string) string {
		out := filepath.Join(dir, name)
		run(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
			"--cmdline", cmdline+" nix-closure-verify.store=off nix-closure-verify.image=/dev/vda"+
				" nix-closure-verify.hash-device=/dev/vdb nix-closure-verify.root-hash="+rootHash,
			"--os-release", "@"+osRelease(t, dir),
			"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", out)
		return out
	}
	good := uki("good.efi", format.RootHash)
	wrongHash := []byte(format.RootHash)
	if wrongHash[0] == '0' { // another hex digit, so only the value is wrong
		wrongHash[0] = '1'
	} else {
		wrongHash[0] = '0'
	}
	wrong := uki("wrong-root.efi", string(wrongHash))

	boot := func(t *testing.T, image, data string) *harness.VM {
		return harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, image), Disks: []string{data, tree}, ReadOnlyDisks: true})
	}

	t.Run("pristine image: opened through dm-verity and readable", func(t *testing.T) {
		t.Parallel()
		vm := boot(t, good, img)
		ctx := context.Background()
		for _, re := range []*regexp.Regexp{verityOpenedRE, storeReadOKRE, continuesRE} {
			if _, err := vm.WaitFor(ctx, re); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("one flipped byte: reading that block fails and the boot stops", func(t *testing.T) {
		t.Parallel()
		vm := boot(t, good, tampered)
		ctx := context.Background()
		for _, re := range []*regexp.Regexp{verityOpenedRE, corruptedBlockRE, storeReadFailedRE} {
			if _, err := vm.WaitFor(ctx, re); err != nil {
				t.Fatal(err)
			}
		}
		if err := vm.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the boot went on past a corrupted store image")
		}
	})

	t.Run("wrong root hash on the command line: open refused, boot stopped", func(t *testing.T) {
		t.Parallel()
		vm := boot(t, wrong, img)
		ctx := context.Background()
		refused := regexp.MustCompile(`^nix-closure-verify: boot check failed: store image /dev/vda: .*root hash`)
		for _, re := range []*regexp.Regexp{refused, bootStoppedRE} {
			if _, err := vm.WaitFor(ctx, re); err != nil {
				t.Fatal(err)
			}
		}
		if err := vm.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the boot went on with a wrong root hash")
		}
	})
}
