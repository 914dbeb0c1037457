//go:build vm

package vm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 15: a version 2 manifest (every file of every store path) rides in
// the signed UKI like version 1; the boot check streams it, checks file by
// file and names the file that differs.
func TestClosureV2CheckAtBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "mkfs.ext4")
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	fx := nixtest.Build(t)
	nixUKI := nixUKI(t)
	ncv := staticNCV(t)
	vmlinuz, modulesDir := kernel(t)
	key, cert := snakeoil(t)
	dir := t.TempDir()

	// Recorded from the machine's store, each path checked against the
	// NAR hash in Nix's own registration.
	m := fixtureManifest(t, fx)
	blocks, err := closure.RecordV2(context.Background(), m, closure.RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := closure.WriteManifestV2(&b, m.StoreDir, blocks); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest")
	if err := os.WriteFile(manifest, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	odd := ""
	for _, p := range fx.Closure {
		if strings.HasSuffix(p, "-odd-tree") {
			odd = p
		}
	}
	pristine := storeDisk(t, fx.Closure, nil)
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
	image := filepath.Join(dir, "uki.efi")
	run(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
		"--cmdline", cmdline+" nix-closure-verify.root=/sysroot", "--os-release", "@"+osRelease(t, dir),
		"--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", image,
		"--closure-manifest", manifest)

	t.Run("pristine store: checked file by file, the boot goes on", func(t *testing.T) {
		t.Parallel()
		vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, image), Disks: []string{pristine}, ReadOnlyDisks: true})
		ctx := context.Background()
		for _, re := range []*regexp.Regexp{regexp.MustCompile(`^nix-closure-verify: store ok: \d+ store paths, \d+ files, `), continuesRE} {
			if _, err := vm.WaitFor(ctx, re); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("one flipped byte: the boot stops naming the file", func(t *testing.T) {
		t.Parallel()
		bootStops(t, image, tampered,
			regexp.MustCompile("^nix-closure-verify: FAILED "+regexp.QuoteMeta(odd+"/seven")+": content-hash: expected sha256:[0-9a-f]{64}, found sha256:[0-9a-f]{64}$"))
	})
}
