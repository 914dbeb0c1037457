//go:build vm

package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// benchScript runs in the VM of bench/fsverity: fs-verity is enabled on the
// closure, then the same store is checked by contents (a version 2 check,
// every file read and hashed) and by fs-verity digests (no file read), each
// once with a cold page cache and once warm. Times come from /proc/uptime
// (10 ms resolution); each run's own summary line follows it.
const benchScript = `ncv=/bin/nix-closure-verify
up() { cut -d' ' -f1 /proc/uptime; }
mkdir -p /sysroot
mount -t ext4 /dev/vda /sysroot || exit 2
timed() { # NAME COMMAND...: prints "bench NAME SECONDS"
  name=$1; shift
  a=$(up); "$@" > /tmp/out 2>&1; st=$?; b=$(up)
  tail -n 1 /tmp/out
  echo "bench $name $(awk "BEGIN{print $b-$a}") exit=$st"
}
timed enable $ncv fsverity enable --root /sysroot --manifest /m
mount -o remount,ro /sysroot
echo "files $(find /sysroot/nix/store -type f | wc -l)"
for cache in cold warm; do
  [ $cache = cold ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  timed contents-$cache $ncv check --root /sysroot --manifest /m
  [ $cache = cold ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  timed fsverity-$cache $ncv check --fsverity --root /sysroot --manifest /m
done
umount /sysroot
`

// TestFSVerityBench is bench/fsverity's VM part, not a test: it runs only
// when bench/fsverity sets NBS_BENCH_FSVERITY_PATHS (a file listing the
// closure's store paths) and NBS_BENCH_FSVERITY_MANIFEST (its version 2
// manifest), and prints the figures as "bench ..." lines.
func TestFSVerityBench(t *testing.T) {
	pathsFile, manifest := os.Getenv("NBS_BENCH_FSVERITY_PATHS"), os.Getenv("NBS_BENCH_FSVERITY_MANIFEST")
	if pathsFile == "" || manifest == "" {
		t.Skip("bench/fsverity runs this")
	}
	harness.NeedVMTools(t, harness.FirmwarePlain)
	data, err := os.ReadFile(pathsFile)
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Fields(string(data))
	ncv := staticNCV(t)
	vmlinuz, modules := kernel(t)

	// The store tree for mkfs.ext4 -d, hard-linked rather than copied
	// (one link each inside the tree, so the image holds plain files).
	root := filepath.Join(t.TempDir(), "root")
	store := filepath.Join(root, "nix", "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", append(append([]string{"-al"}, paths...), store)...)
	// Directories only: the files are the store's own inodes.
	t.Cleanup(func() { exec.Command("find", root, "-type", "d", "-exec", "chmod", "u+w", "{}", "+").Run() })
	mib, err := strconv.Atoi(strings.Fields(run(t, "du", "-sm", root))[0])
	if err != nil {
		t.Fatal(err)
	}
	// Room for ext4's metadata and the Merkle trees (1/128 of the data).
	disk := verityDisk(t, root, strconv.Itoa(mib*13/10+64)+"M")

	ird := buildInitrd(t, t.TempDir(), initrd.Spec{
		ModulesDir: modules,
		Modules:    verityModules,
		Run:        []string{"/bin/sh", "/bin/bench.sh"},
		Files: []initrd.File{
			{Name: "bin/nix-closure-verify", HostPath: ncv, Perm: 0o755},
			{Name: "bin/bench.sh", Data: []byte(benchScript), Perm: 0o755},
			{Name: "m", HostPath: manifest, Perm: 0o644},
		},
	})
	vm := harness.Boot(t, harness.Config{
		Firmware:  harness.FirmwarePlain,
		Disks:     []string{disk},
		MemoryMiB: 3072,
		Timeout:   2 * time.Hour,
		ExtraArgs: []string{"-smp", "2", "-kernel", vmlinuz, "-initrd", ird, "-append", cmdline},
	})
	if _, err := vm.WaitFor(context.Background(), exitStatusRE); err != nil {
		t.Fatal(err)
	}
	for _, l := range regexp.MustCompile(`(?m)^(bench |files |ok: |nix-closure-verify: ).*$`).FindAllString(vm.Console.Log(), -1) {
		t.Log(l)
	}
}
