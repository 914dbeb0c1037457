//go:build vm

package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 15, fs-verity. This machine's kernel has no fs-verity; Debian's
// kernel, which the VM boots, has it built in (CONFIG_FS_VERITY=y) and ext4
// supports it on a filesystem made with -O verity. The peer, `fsverity`
// from fsverity-utils, is dynamically linked: it runs in the initrd with
// the libraries it needs copied to their own paths.

// verityModules are what an ext4 disk needs in the initrd.
var verityModules = strings.Fields(storeDiskModules)

// fsverityPeerFiles puts /usr/bin/fsverity at /bin/fsverity in the initrd,
// with its shared libraries and loader at the paths ldd names.
func fsverityPeerFiles(t *testing.T) []initrd.File {
	t.Helper()
	harness.NeedTools(t, "/usr/bin/fsverity", "ldd")
	out := run(t, "ldd", "/usr/bin/fsverity")
	files := []initrd.File{{Name: "bin/fsverity", HostPath: "/usr/bin/fsverity", Perm: 0o755}}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0]
		default:
			continue // linux-vdso.so.1
		}
		files = append(files, initrd.File{Name: strings.TrimPrefix(lib, "/"), HostPath: lib, Perm: 0o755})
	}
	return files
}

// verityDisk makes an ext4 image with the verity feature and 4096-byte
// blocks (ext4's fs-verity needs the block size to be the page size; a
// small image would get 1024 otherwise), holding root's tree when root is
// not empty. The image is sparse.
func verityDisk(t *testing.T, root, size string) string {
	t.Helper()
	harness.NeedTools(t, "mkfs.ext4")
	img := filepath.Join(t.TempDir(), "verity.ext4")
	args := []string{"-q", "-F", "-b", "4096", "-O", "verity"}
	if root != "" {
		args = append(args, "-d", root)
	}
	run(t, "mkfs.ext4", append(args, img, size)...)
	return img
}

// staticTest builds pkg's test binary as one static program for the initrd.
func staticTest(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".test")
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "test", "-c", "-trimpath", "-o", out, pkg)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test binary of %s: %v\n%s", pkg, err, b)
	}
	return out
}

// kernelTestScript runs pkg/fsverity's tests on an ext4 -O verity disk.
const kernelTestScript = `mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || exit 2
echo "ext4 features: $(ls /sys/fs/ext4/features | tr '\n' ' ')"
NBS_FSVERITY_DIR=/mnt /bin/fsverity.test -test.v -test.run '^(TestKernel|TestNotRegular|TestClassify|TestWithoutKernelSupport)$'
st=$?
NBS_FSVERITY_DIR=/mnt /bin/storeverity.test -test.v
st2=$?
umount /mnt
[ $st = 0 ] && exit $st2
exit $st
`

// TestFSVerityKernel runs pkg/fsverity's and pkg/storeverity's kernel tests
// where the kernel has fs-verity: Enable and Measure on files of 0 to 16385
// blocks (trees of one to three levels) against `fsverity digest` and
// `fsverity measure`, a file open for writing, files the peer enabled with
// SHA-512 or a salt; a store enabled only when all of it matches, idempotent,
// checked by digests, a file without fs-verity failed or hashed and named.
func TestFSVerityKernel(t *testing.T) {
	harness.NeedTools(t, "go")
	harness.NeedVMTools(t, harness.FirmwarePlain)
	vmlinuz, modules := kernel(t)
	dir := t.TempDir()
	files := append(fsverityPeerFiles(t),
		initrd.File{Name: "bin/fsverity.test", HostPath: staticTest(t, "./pkg/fsverity/"), Perm: 0o755},
		initrd.File{Name: "bin/storeverity.test", HostPath: staticTest(t, "./pkg/storeverity/"), Perm: 0o755},
		initrd.File{Name: "bin/kernel-test.sh", Data: []byte(kernelTestScript), Perm: 0o755})
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    append(verityModules, "sha512_generic"), // SHA-256 is built in; the peer's sha512 file needs this
		Run:        []string{"/bin/sh", "/bin/kernel-test.sh"},
		Files:      files,
	})
	vm := harness.Boot(t, harness.Config{
		Firmware:  harness.FirmwarePlain,
		Disks:     []string{verityDisk(t, "", "256M")},
		MemoryMiB: 1024,
		Timeout:   5 * time.Minute,
		ExtraArgs: []string{"-kernel", vmlinuz, "-initrd", ird, "-append", cmdline},
	})
	ctx := context.Background()
	line, err := vm.WaitFor(ctx, exitStatusRE)
	if err != nil {
		t.Fatal(err)
	}
	log := vm.Console.Log()
	if line != initrd.ExitStatusPrefix+"0" {
		t.Fatalf("the tests failed in the VM: %s", line)
	}
	for _, want := range []string{"--- PASS: TestKernel/size-67108865 ", "--- PASS: TestKernel/open_for_writing_elsewhere ",
		"--- PASS: TestKernel/enabled_with_sha512_by_the_peer ", "--- SKIP: TestWithoutKernelSupport ",
		"--- PASS: TestWithoutFSVerity ", // on the initrd's tmpfs, which has no fs-verity
	} {
		if !strings.Contains(log, want) {
			t.Errorf("console does not say %q", want)
		}
	}
	// Both packages' TestKernel ran and passed.
	if n := strings.Count(log, "--- PASS: TestKernel "); n != 2 || strings.Contains(log, "--- SKIP: TestKernel") {
		t.Errorf("TestKernel passed %d times of 2, or skipped", n)
	}
}

// digestLines runs the host's `fsverity digest` (user space, libfsverity)
// over every regular file of paths and returns its lines with prefix put
// before each path, sorted as the guest's sort does them.
func digestLines(t *testing.T, paths []string, prefix string) string {
	t.Helper()
	var files []string
	for _, p := range paths {
		filepath.Walk(p, func(f string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				files = append(files, f)
			}
			return nil
		})
	}
	out := run(t, "fsverity", append([]string{"digest"}, files...)...)
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		hash, path, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("fsverity digest printed %q", l)
		}
		lines = append(lines, hash+" "+prefix+path)
	}
	return strings.Join(lines, "\n") + "\n"
}

// dataBlock returns the byte offset on the ext4 image img of block n of
// the file at path (debugfs bmap: logical to physical block).
func dataBlock(t *testing.T, img, path string, n int) int64 {
	t.Helper()
	harness.NeedTools(t, "debugfs")
	out := run(t, "debugfs", "-R", "bmap "+path+" "+strconv.Itoa(n), img)
	fields := strings.Fields(out)
	if len(fields) == 0 {
		t.Fatalf("debugfs bmap printed %q", out)
	}
	phys, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil || phys == 0 {
		t.Fatalf("debugfs bmap printed %q", out)
	}
	return phys * 4096
}

// copySparse copies a disk image, keeping it sparse.
func copySparse(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	run(t, "cp", "--sparse=always", src, dst)
	return dst
}

// flipAt changes one byte of file p at offset off.
func flipAt(t *testing.T, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// verityStore makes an ext4 -O verity disk (64 MiB, sparse) holding the
// store paths under /nix/store.
func verityStore(t *testing.T, paths []string) string {
	t.Helper()
	return verityDisk(t, storeTree(t, paths), "64M")
}

// verityBootCheckInitrd is a UKI's initrd that mounts the ext4 store disk
// read-only and runs the boot check.
func verityBootCheckInitrd(t *testing.T, modules, ncv string) string {
	t.Helper()
	return buildInitrd(t, t.TempDir(), initrd.Spec{
		ModulesDir: modules,
		Modules:    verityModules,
		Run:        []string{"/bin/sh", "/boot-check.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "boot-check.sh", Data: bootScript("mount -t ext4 -o ro /dev/vda /sysroot"), Perm: 0o755},
		},
	})
}

var signedSettingsRE = regexp.MustCompile(`^nix-closure-verify: settings from the signed initrd$`)

// secureBootUKI boots the UKI under Secure Boot with disk attached
// read-only and waits for lines on the console. The hard limit is
// generous: Secure Boot VMs under TCG on a busy machine; the outcome is
// read from the console, never from a timeout.
func secureBootUKI(t *testing.T, uki, disk string, lines ...*regexp.Regexp) *harness.VM {
	t.Helper()
	vm := harness.Boot(t, harness.Config{Firmware: harness.FirmwareSecureBoot, ESPDir: espWith(t, uki), Disks: []string{disk},
		ReadOnlyDisks: true, Timeout: 6 * time.Minute})
	for _, re := range lines {
		if _, err := vm.WaitFor(context.Background(), re); err != nil {
			t.Fatal(err)
		}
	}
	return vm
}

// waitSteps waits for each "step NAME exit=N" line in order and compares
// its status.
func waitSteps(t *testing.T, vm *harness.VM, steps ...string) {
	t.Helper()
	ctx := context.Background()
	for _, s := range steps {
		name, _, _ := strings.Cut(s, " ")
		line, err := vm.WaitFor(ctx, regexp.MustCompile(`^step `+regexp.QuoteMeta(name)+` `))
		if err != nil {
			t.Fatal(err)
		}
		if line != "step "+s {
			t.Errorf("got %q, want %q", line, "step "+s)
		}
	}
}

// enableScript runs on the store disk mounted read-write: our `fsverity
// enable` checks the closure against the version 2 manifest and enables
// fs-verity on every file; a second run enables nothing; `check
// --fsverity` passes. Then every file is measured by the peer (`fsverity
// measure`, the kernel's digest) and compared with the host's `fsverity
// digest` of the same files (/want).
const enableScript = `s=/sysroot/nix/store
ncv=/bin/nix-closure-verify
mkdir -p /sysroot
mount -t ext4 /dev/vda /sysroot; echo "step mount exit=$?"
$ncv fsverity enable --root /sysroot --manifest /m --digest "$(cat /m.digest)"; echo "step enable exit=$?"
$ncv fsverity enable --root /sysroot --manifest /m; echo "step enable-again exit=$?"
$ncv check --fsverity --root /sysroot --manifest /m; echo "step check exit=$?"
find $s -type f -print0 | xargs -0 fsverity measure | sort > /tmp/got; echo "step measure exit=$?"
echo "measured $(wc -l < /tmp/got) files"
sort /want | diff - /tmp/got; echo "step peer exit=$?"
umount /sysroot; echo "step umount exit=$?"
`

// afterScript runs on the next boot, whose command line asks for the boot
// check with fsverity=on: /dev/vda is the store disk with one data byte
// flipped outside the VM (mounted read-only), /dev/vdb a copy on which one
// file is rewritten without fs-verity and another replaced by a file with
// its own valid fs-verity. The last step is the boot check on the tampered
// store, which stops the boot.
const afterScript = `ncv=/bin/nix-closure-verify
mkdir -p /sysroot /b
mount -t ext4 -o ro /dev/vda /sysroot; echo "step mount-flipped exit=$?"
$ncv boot; echo "step boot-check-flipped exit=$?"
$ncv check --fsverity --root /sysroot --manifest /m; echo "step check-flipped exit=$?"
find /sysroot/nix/store -type f -print0 | xargs -0 fsverity measure | sort > /tmp/got; echo "step measure-flipped exit=$?"
sort /want | diff - /tmp/got; echo "step digests-unchanged exit=$?"
big=/sysroot/nix/store/$(cat /odd)/big
dd if=$big of=/dev/null bs=4096 count=1; echo "step read-block-0 exit=$?"
dd if=$big of=/dev/null bs=4096 skip=$(cat /flipped-block) count=1; echo "step read-flipped-block exit=$?"
cat $big > /dev/null; echo "step read-file exit=$?"
mount -t ext4 /dev/vdb /b; echo "step mount-tamper exit=$?"
odd=/b/nix/store/$(cat /odd)
cp $odd/seven /tmp/seven && rm -f $odd/seven && cat /tmp/seven > $odd/seven; echo "step rewrite exit=$?"
rm -f $odd/nine && printf 987654321 > $odd/nine && fsverity enable $odd/nine; echo "step replace exit=$?"
chmod 444 $odd/seven $odd/nine; touch -d '1970-01-01 00:00:01' $odd/seven $odd/nine $odd
$ncv check --fsverity --root /b --manifest /m; echo "step check-tampered exit=$?"
umount /b && mount -t ext4 -o ro /dev/vdb /b; echo "step remount-tamper exit=$?"
sed 's|nix-closure-verify.root=/sysroot|nix-closure-verify.root=/b|' /proc/cmdline > /tampered-cmdline
$ncv boot --cmdline /tampered-cmdline; echo "step boot-check-tampered exit=$?"
`

// TestFSVerityStore: a real closure on an ext4 -O verity disk, its version
// 2 manifest made on the host. In a first boot our `fsverity enable`
// enables fs-verity (a second run is a no-op), `check --fsverity` passes
// and the kernel's digest of every file equals the host's `fsverity
// digest`. Then, between two boots, one data byte is flipped on the raw
// disk: the boot check with nix-closure-verify.fsverity=on and `check
// --fsverity` pass (they read no data; the digest is unchanged) and reading
// that block fails with EIO. A file rewritten without fs-verity and a file
// replaced by another with its own valid fs-verity are named by `check
// --fsverity` and by the boot check, which stops the boot; last, the boot
// check runs from a signed UKI whose settings say fsverity=on.
func TestFSVerityStore(t *testing.T) {
	harness.NeedTools(t, "go", "fsverity")
	harness.NeedVMTools(t, harness.FirmwarePlain)
	fx := nixtest.Build(t)
	ncv := staticNCV(t)
	vmlinuz, modules := kernel(t)
	dir := t.TempDir()
	odd := ""
	for _, p := range fx.Closure {
		if strings.HasSuffix(p, "-odd-tree") {
			odd = filepath.Base(p)
		}
	}
	want := digestLines(t, fx.Closure, "/sysroot")
	registration := filepath.Join(dir, "registration")
	if err := os.WriteFile(registration, []byte(fx.Registration), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "manifest")
	digest := strings.TrimSpace(run(t, ncv, "manifest", "--closure-info", registration, "--format", "v2", "--output", manifest))

	disk := verityStore(t, fx.Closure)

	boot := func(t *testing.T, script, line string, extra []initrd.File, disks ...string) *harness.VM {
		files := append(fsverityPeerFiles(t),
			initrd.File{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			initrd.File{Name: "bin/test.sh", Data: []byte(script), Perm: 0o755},
			initrd.File{Name: "m", HostPath: manifest, Perm: 0o644},
			initrd.File{Name: "m.digest", Data: []byte(digest), Perm: 0o644},
			initrd.File{Name: "want", Data: []byte(want), Perm: 0o644},
			initrd.File{Name: "odd", Data: []byte(odd), Perm: 0o644})
		ird := buildInitrd(t, t.TempDir(), initrd.Spec{
			ModulesDir: modules,
			Modules:    verityModules,
			Run:        []string{"/bin/sh", "/bin/test.sh"},
			Files:      append(files, extra...),
		})
		return harness.Boot(t, harness.Config{
			Firmware:  harness.FirmwarePlain,
			Disks:     disks,
			Timeout:   4 * time.Minute,
			ExtraArgs: []string{"-kernel", vmlinuz, "-initrd", ird, "-append", line},
		})
	}

	vm := boot(t, enableScript, cmdline, nil, disk)
	enabledRE := regexp.MustCompile(`^ok: fs-verity enabled on `)
	waitSteps(t, vm, "mount exit=0")
	enabled, err := vm.WaitFor(context.Background(), enabledRE)
	if err != nil {
		t.Fatal(err)
	}
	waitSteps(t, vm, "enable exit=0")
	again, err := vm.WaitFor(context.Background(), enabledRE)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s; second run: %s", enabled, again)
	if !strings.HasPrefix(again, "ok: fs-verity enabled on 0 files, ") || strings.HasPrefix(enabled, "ok: fs-verity enabled on 0 files, ") {
		t.Errorf("the first run should enable, the second nothing")
	}
	waitSteps(t, vm, "enable-again exit=0", "check exit=0", "measure exit=0", "peer exit=0", "umount exit=0")
	if err := vm.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Outside the VM, one byte in block 50 of the 700000-byte file.
	const block = 50
	flipped := copySparse(t, disk)
	flipAt(t, flipped, dataBlock(t, flipped, "/nix/store/"+odd+"/big", block)+100)
	tamper := copySparse(t, disk)

	// The boot check's settings come from the command line (no signed
	// settings file in this initrd); the manifest is where it looks.
	line := cmdline + " nix-closure-verify.digest=" + digest + " nix-closure-verify.fsverity=on nix-closure-verify.root=/sysroot"
	vm = boot(t, afterScript, line, []initrd.File{
		{Name: "flipped-block", Data: []byte(strconv.Itoa(block)), Perm: 0o644},
		{Name: "etc/nix-closure-verify/manifest", HostPath: manifest, Perm: 0o444},
	}, flipped, tamper)
	ctx := context.Background()
	waitSteps(t, vm, "mount-flipped exit=0")
	if _, err := vm.WaitFor(ctx, regexp.MustCompile(`^nix-closure-verify: store ok \(fs-verity digests, no contents read\): `)); err != nil {
		t.Fatal(err)
	}
	waitSteps(t, vm, "boot-check-flipped exit=0", "check-flipped exit=0", "measure-flipped exit=0", "digests-unchanged exit=0",
		"read-block-0 exit=0", "read-flipped-block exit=1", "read-file exit=1",
		"mount-tamper exit=0", "rewrite exit=0", "replace exit=0", "check-tampered exit=1", "remount-tamper exit=0")
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`^nix-closure-verify: FAILED /nix/store/` + regexp.QuoteMeta(odd) + `/nine: fs-verity: `),
		regexp.MustCompile(`^nix-closure-verify: FAILED /nix/store/` + regexp.QuoteMeta(odd) + `/seven: fs-verity: `),
		bootStoppedRE,
	} {
		if _, err := vm.WaitFor(ctx, re); err != nil {
			t.Fatal(err)
		}
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	log := vm.Console.Log()
	for _, want := range []string{
		"fs-verity (vda, inode ", "FILE CORRUPTED! index=" + strconv.Itoa(block),
		"Input/output error",
		"/nix/store/" + odd + "/seven: fs-verity: ", "/nix/store/" + odd + "/nine: fs-verity: ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the console does not say %q", want)
		}
	}
	if strings.Contains(log, "step boot-check-tampered") {
		t.Error("the boot went on after the boot check failed")
	}

	// The same through a signed UKI under Secure Boot: the version 2
	// manifest and fsverity=on in the signed settings (nix-uki build
	// --closure-manifest). The flipped disk passes, the tampered one (as
	// the last boot left it) stops the boot naming both files.
	harness.NeedTools(t, stub)
	harness.NeedVMTools(t, harness.FirmwareSecureBoot)
	key, cert := snakeoil(t)
	ukiIrd := verityBootCheckInitrd(t, modules, ncv)
	uki := filepath.Join(dir, "uki.efi")
	run(t, nixUKI(t), "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ukiIrd,
		"--cmdline", cmdline+" nix-closure-verify.root=/sysroot nix-closure-verify.fsverity=on", "--closure-manifest", manifest,
		"--os-release", "@"+osRelease(t, dir), "--secureboot-private-key", key, "--secureboot-certificate", cert, "--output", uki)
	ukiBoot := func(t *testing.T, disk string, lines ...*regexp.Regexp) *harness.VM {
		return secureBootUKI(t, uki, disk, lines...)
	}
	signed := signedSettingsRE
	t.Run("signed UKI, fsverity=on, flipped byte: passes without reading", func(t *testing.T) {
		t.Parallel()
		ukiBoot(t, flipped, signed, regexp.MustCompile(`^nix-closure-verify: store ok \(fs-verity digests, no contents read\): `), continuesRE)
	})
	t.Run("signed UKI, fsverity=on, tampered files: the boot stops naming them", func(t *testing.T) {
		t.Parallel()
		vm := ukiBoot(t, tamper, signed,
			regexp.MustCompile(`^nix-closure-verify: FAILED /nix/store/`+regexp.QuoteMeta(odd)+`/nine: fs-verity: `),
			regexp.MustCompile(`^nix-closure-verify: FAILED /nix/store/`+regexp.QuoteMeta(odd)+`/seven: fs-verity: `),
			bootStoppedRE)
		if err := vm.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(vm.Console.Log(), continuesMarker) {
			t.Fatal("the boot went on")
		}
	})
}
