package closure

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"golang.org/x/sys/unix"
)

// copyClosure copies the fixture closure under a fresh root, keeping modes
// and mtimes (cp -a), and returns the root and the manifest Nix's own
// registration gives.
func copyClosure(t *testing.T) (string, *Manifest, *nixtest.Fixture) {
	t.Helper()
	fx := nixtest.Build(t)
	entries, err := ParseRegistration(strings.NewReader(fx.Registration))
	if err != nil {
		t.Fatal(err)
	}
	m := mustManifest(t, entries)
	root := t.TempDir()
	store := filepath.Join(root, "nix", "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-a"}, fx.Closure...)
	if out, err := exec.Command("cp", append(args, store)...).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", root).Run() })
	return root, m, fx
}

func check(t *testing.T, root string, m *Manifest) *Report {
	t.Helper()
	rep, err := Check(context.Background(), m, CheckOptions{Root: root, Metadata: testChecks()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPristineClosurePasses(t *testing.T) {
	root, m, _ := copyClosure(t)
	rep := check(t, root, m)
	if !rep.OK() {
		t.Fatalf("problems: %v", rep.Problems)
	}
	if rep.Paths != len(m.Entries) || rep.Bytes != m.NarBytes() {
		t.Fatalf("report %+v", rep)
	}
	// The real store too, without a root, with the default checks where
	// it belongs to root.
	opts := CheckOptions{}
	var st syscall.Stat_t
	if err := syscall.Lstat(m.Entries[0].Path, &st); err != nil {
		t.Fatal(err)
	}
	opts.Metadata.Owner = Owner{UID: st.Uid, GID: st.Gid}
	if rep, err := Check(context.Background(), m, opts); err != nil || !rep.OK() {
		t.Fatalf("real store: %v %v", err, rep)
	}
}

// tamperCase is one tampering of round 1's matrix, with what a version 1
// check (the store path, NAR-level kinds) and a version 2 check (the exact
// entry, per-file kinds) must report.
type tamperCase struct {
	name    string
	do      func(t *testing.T, dir string) // dir: the odd tree under the root
	path    string                         // store path expected in the report
	kinds   []Kind
	file    string // version 2: the entry every problem names, relative to path ("" for path itself)
	v2kinds []Kind
}

func tamperCases(t *testing.T, fx *nixtest.Fixture) []tamperCase {
	odd := findPath(t, fx, "-odd-tree")
	leafLink := findPath(t, fx, "-leaf-link")
	leafExe := findPath(t, fx, "-leaf-exe")
	return []tamperCase{
		{"flipped byte", func(t *testing.T, d string) { rewrite(t, d+"/seven", func(b []byte) []byte { b[3] ^= 1; return b }) }, odd, []Kind{KindHash}, "seven", []Kind{KindHash}},
		{"truncation", func(t *testing.T, d string) { rewrite(t, d+"/big", func(b []byte) []byte { return b[:len(b)-1] }) }, odd, []Kind{KindHash}, "big", []Kind{KindFileSize, KindHash}},
		{"appended byte", func(t *testing.T, d string) { rewrite(t, d+"/nine", func(b []byte) []byte { return append(b, 'x') }) }, odd, []Kind{KindHash}, "nine", []Kind{KindFileSize, KindHash}},
		{"chmod +x", func(t *testing.T, d string) { os.Chmod(d+"/seven", 0o555) }, odd, []Kind{KindHash}, "seven", []Kind{KindExecutable}},
		{"chmod -x", func(t *testing.T, d string) { os.Chmod(d+"/sub/run", 0o444) }, odd, []Kind{KindHash}, "sub/run", []Kind{KindExecutable}},
		{"chmod 0644", func(t *testing.T, d string) { os.Chmod(d+"/seven", 0o644) }, odd, []Kind{KindMode}, "seven", []Kind{KindMode}},
		{"setuid", func(t *testing.T, d string) { os.Chmod(d+"/sub/run", 0o555|os.ModeSetuid) }, odd, []Kind{KindSpecialBits}, "sub/run", []Kind{KindSpecialBits}},
		{"file added", func(t *testing.T, d string) { writable(t, d, func() { os.WriteFile(d+"/new", nil, 0o444) }) }, odd, []Kind{KindHash, KindSize}, "new", []Kind{KindExtra}},
		{"file removed", func(t *testing.T, d string) { writable(t, d, func() { os.Remove(d + "/eight") }) }, odd, []Kind{KindHash, KindSize}, "eight", []Kind{KindMissing}},
		{"directory replaced by symlink", func(t *testing.T, d string) {
			writable(t, d, func() {
				os.Chmod(d+"/empty-dir", 0o755)
				os.Remove(d + "/empty-dir")
				os.Symlink("sub", d+"/empty-dir")
			})
		}, odd, []Kind{KindHash}, "empty-dir", []Kind{KindType}},
		{"symlink retargeted", func(t *testing.T, d string) {
			writable(t, d, func() { os.Remove(d + "/dangling"); os.Symlink("../elsewhere", d+"/dangling") })
		}, odd, []Kind{KindHash}, "dangling", []Kind{KindTarget}},
		{"mtime changed", func(t *testing.T, d string) { os.Chtimes(d+"/seven", timeAt(5), timeAt(5)) }, odd, []Kind{KindMtime}, "seven", []Kind{KindMtime}},
		{"fifo added", func(t *testing.T, d string) { writable(t, d, func() { syscall.Mkfifo(d+"/fifo", 0o444) }) }, odd, []Kind{KindEntryType}, "fifo", []Kind{KindExtra}},
		{"owner changed", func(t *testing.T, d string) { chown(t, d+"/sub/run", 1000, -1) }, odd, []Kind{KindOwner}, "sub/run", []Kind{KindOwner}},
		{"group changed", func(t *testing.T, d string) { chown(t, d+"/sub", -1, 1000) }, odd, []Kind{KindOwner}, "sub", []Kind{KindOwner}},
		{"symlink owner changed", func(t *testing.T, d string) { chown(t, d+"/dangling", 1000, 1000) }, odd, []Kind{KindOwner}, "dangling", []Kind{KindOwner}},
		{"file capability", func(t *testing.T, d string) { setcap(t, d+"/sub/run") }, odd, []Kind{KindXattr}, "sub/run", []Kind{KindXattr}},
		{"user xattr on a directory", func(t *testing.T, d string) { xattr(t, d+"/sub", "user.x") }, odd, []Kind{KindXattr}, "sub", []Kind{KindXattr}},
		{"trusted xattr on a symlink", func(t *testing.T, d string) { xattr(t, d+"/dangling", "trusted.x") }, odd, []Kind{KindXattr}, "dangling", []Kind{KindXattr}},
		{"capability on a store path that is a file", func(t *testing.T, d string) {
			setcap(t, filepath.Join(filepath.Dir(d), filepath.Base(leafExe)))
		}, leafExe, []Kind{KindXattr}, "", []Kind{KindXattr}},
		{"store path removed", func(t *testing.T, d string) { os.Remove(filepath.Join(filepath.Dir(d), filepath.Base(leafLink))) }, leafLink, []Kind{KindMissing}, "", []Kind{KindMissing}},
	}
}

// Each tampering must be found and name the store path.
func TestTamperMatrix(t *testing.T) {
	runTamperMatrix(t, false, func(t *testing.T, root string, m *Manifest) *Report { return check(t, root, m) })
}

// runTamperMatrix applies each tampering to a fresh copy of the fixture and
// checks the report: every problem names the case's store path (with v2,
// also its exact entry) and the expected kinds are all there.
func runTamperMatrix(t *testing.T, v2 bool, run func(t *testing.T, root string, m *Manifest) *Report) {
	fx := nixtest.Build(t)
	odd := findPath(t, fx, "-odd-tree")
	for _, c := range tamperCases(t, fx) {
		t.Run(c.name, func(t *testing.T) {
			root, m, _ := copyClosure(t)
			c.do(t, filepath.Join(root, odd))
			rep := run(t, root, m)
			if rep.OK() {
				t.Fatal("tampering not detected")
			}
			want, expected := "", c.kinds
			if v2 {
				want, expected = NodeFullPath(c.path, c.file), c.v2kinds
				if c.file == "" {
					want = c.path
				}
			}
			kinds := map[Kind]bool{}
			for _, p := range rep.Problems {
				if p.StorePath != c.path || (v2 && p.Path != want) {
					t.Errorf("problem names %s in %s, want %s in %s: %v", p.Path, p.StorePath, want, c.path, p)
				}
				kinds[p.Kind] = true
			}
			for _, k := range expected {
				if !kinds[k] {
					t.Errorf("no %s problem in %v", k, rep.Problems)
				}
			}
		})
	}
}

// Every problem is reported, not just the first.
func TestReportsEveryProblem(t *testing.T) {
	root, m, fx := copyClosure(t)
	odd := findPath(t, fx, "-odd-tree")
	os.Chmod(filepath.Join(root, odd, "seven"), 0o644)
	os.Chmod(filepath.Join(root, odd, "eight"), 0o644)
	os.Remove(filepath.Join(root, findPath(t, fx, "-leaf-exe")))
	rep := check(t, root, m)
	if len(rep.Problems) != 3 || rep.FailedPaths() != 2 {
		t.Fatalf("problems: %v", rep.Problems)
	}
}

func TestMetadataChecksCanBeTurnedOff(t *testing.T) {
	root, m, fx := copyClosure(t)
	odd := filepath.Join(root, findPath(t, fx, "-odd-tree"))
	os.Chtimes(odd+"/seven", timeAt(5), timeAt(5))
	os.Chmod(odd+"/eight", 0o644)
	os.Chmod(odd+"/sub/run", 0o555|os.ModeSetuid)
	os.Chown(odd+"/nine", 1000, 1000)
	xattr(t, odd+"/seven", "user.tag")
	rep, err := Check(context.Background(), m, CheckOptions{Root: root, Jobs: 1, Metadata: MetadataChecks{
		SkipMode: true, SkipSpecialBits: true, SkipMtime: true, SkipOwner: true, SkipXattrs: true,
	}})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Problems)
	}
	// The zero value checks everything (fail closed).
	rep, err = Check(context.Background(), m, CheckOptions{Root: root, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]bool{}
	for _, p := range rep.Problems {
		kinds[p.Kind] = true
	}
	for _, k := range []Kind{KindMode, KindSpecialBits, KindMtime, KindXattr} {
		if !kinds[k] {
			t.Errorf("zero MetadataChecks: no %s problem in %v", k, rep.Problems)
		}
	}
}

func TestRootErrors(t *testing.T) {
	_, m, _ := copyClosure(t)
	for _, root := range []string{"/nonexistent-root", t.TempDir()} {
		if _, err := Check(context.Background(), m, CheckOptions{Root: root}); err == nil {
			t.Errorf("root %s accepted", root)
		}
	}
}

// testChecks is AllMetadataChecks for the copies tests make, which belong
// to whoever runs the tests (root:root in CI).
func testChecks() MetadataChecks {
	c := AllMetadataChecks
	c.Owner = Owner{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	return c
}

// chown changes an entry's owner without following it; it needs root.
func chown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Skipf("chown needs root: %v", err)
	}
}

// setcap gives a file cap_setuid+ep with libcap's setcap where it is
// installed, or writes the same security.capability value (version 2,
// CAP_SETUID permitted and effective) itself.
func setcap(t *testing.T, p string) {
	t.Helper()
	if path, err := exec.LookPath("setcap"); err == nil {
		if out, err := exec.Command(path, "cap_setuid+ep", p).CombinedOutput(); err != nil {
			t.Skipf("setcap needs root: %v %s", err, out)
		}
		return
	}
	v := []byte{1, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // le32 0x02000001, then {permitted, inheritable} for caps 0-31 and 32-63
	if err := unix.Lsetxattr(p, "security.capability", v, 0); err != nil {
		t.Skipf("setting security.capability needs root: %v", err)
	}
}

// xattr sets an extended attribute on p itself, not following a symlink.
func xattr(t *testing.T, p, name string) {
	t.Helper()
	if err := unix.Lsetxattr(p, name, []byte("1"), 0); err != nil {
		t.Skipf("setting %s: %v", name, err)
	}
}

func findPath(t *testing.T, fx *nixtest.Fixture, suffix string) string {
	t.Helper()
	for _, p := range fx.Closure {
		if strings.HasSuffix(p, suffix) {
			return p
		}
	}
	t.Fatalf("no %s in closure", suffix)
	return ""
}

// rewrite edits a read-only store file in place, keeping mode and mtime.
func rewrite(t *testing.T, p string, edit func([]byte) []byte) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, fi.Mode())
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
}

// writable runs f with dir writable, then restores the directory's mode and mtime.
func writable(t *testing.T, dir string, f func()) {
	t.Helper()
	fi, _ := os.Stat(dir)
	os.Chmod(dir, 0o755)
	f()
	os.Chmod(dir, fi.Mode())
	os.Chtimes(dir, fi.ModTime(), fi.ModTime())
}

func timeAt(sec int64) time.Time { return time.Unix(sec, 0) }
