package esp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/faultfs"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
)

// entry is a stand-in UKI: its content is derived from its name, so a
// check can tell a complete file from a torn one.
func entry(n int, size int) (string, []byte) {
	name := esp.EntryName(n, "", fmt.Sprintf("%016x", n*0x1111), 0)
	return esp.LinuxDir + "/" + name, bytes.Repeat([]byte(name[:20]), size/20+1)[:size]
}

func checkContent(want []byte) func(esp.ReadFile, int64) error {
	return func(r esp.ReadFile, size int64) error {
		got, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return errors.New("content differs")
		}
		return nil
	}
}

// plan wants generations gens (newest last) with the newest as default.
func plan(f esp.FS, size int, gens ...int) esp.Plan {
	p := esp.Plan{FS: f, Dirs: []string{esp.LinuxDir, "loader"}, Owned: esp.OwnedEntry}
	newest := gens[len(gens)-1]
	var def string
	for i := len(gens) - 1; i >= 0; i-- {
		path, data := entry(gens[i], size)
		w := esp.Want{Path: path, Size: int64(len(data)), Required: gens[i] == newest, Check: checkContent(data)}
		w.Write = func(out esp.File) error { _, err := out.Write(data); return err }
		p.Wants = append(p.Wants, w)
		if gens[i] == newest {
			def = filepath.Base(path)
		}
	}
	p.Wants = append(p.Wants, esp.Want{Path: esp.LoaderConfPath, Content: esp.LoaderConf(def, map[string]string{"timeout": "3"}), Required: true, Last: true})
	return p
}

func run(t *testing.T, p esp.Plan) (*esp.Prepared, esp.Result, error) {
	t.Helper()
	pr, err := esp.Prepare(p)
	if err != nil {
		return nil, esp.Result{}, err
	}
	res, err := pr.Apply()
	if err == nil {
		err = pr.RemoveStale()
	}
	return pr, res, err
}

func statuses(pr *esp.Prepared) map[string]esp.Status {
	m := map[string]esp.Status{}
	for _, o := range pr.Outcomes {
		m[filepath.Base(o.Path)] = o.Status
	}
	return m
}

func TestInstallIdempotentAndGC(t *testing.T) {
	root := t.TempDir()
	f := &esp.OSFS{Root: root}
	// Files of others are never touched.
	os.MkdirAll(filepath.Join(root, "EFI/Linux"), 0o755)
	os.WriteFile(filepath.Join(root, "EFI/Linux/other-os.efi"), []byte("x"), 0o644)
	pr, res, err := run(t, plan(f, 1000, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Written < 3000 || !pr.Changes() {
		t.Fatalf("first install wrote %d bytes", res.Written)
	}
	fi1, _ := os.Stat(filepath.Join(root, "EFI/Linux", filepath.Base(must(entry(3, 1000)))))
	pr, res, err = run(t, plan(f, 1000, 1, 2, 3))
	if err != nil || res.Written != 0 || pr.Changes() {
		t.Fatalf("second run: %v, %d bytes, changes %v", err, res.Written, pr.Changes())
	}
	fi2, _ := os.Stat(filepath.Join(root, "EFI/Linux", filepath.Base(must(entry(3, 1000)))))
	if !os.SameFile(fi1, fi2) || !fi1.ModTime().Equal(fi2.ModTime()) {
		t.Error("unchanged entry was rewritten")
	}
	// A damaged entry is rewritten; gone generations are removed.
	p2, _ := entry(2, 1000)
	os.WriteFile(filepath.Join(root, p2), bytes.Repeat([]byte("z"), 1000), 0o644)
	pr, _, err = run(t, plan(f, 1000, 2, 3, 4))
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(pr)
	p1, _ := entry(1, 1000)
	p4, _ := entry(4, 1000)
	if st[filepath.Base(p2)] != esp.Repaired || st[filepath.Base(p1)] != esp.Removed || st[filepath.Base(p4)] != esp.Installed {
		t.Errorf("statuses %v", st)
	}
	if _, err := os.Stat(filepath.Join(root, "EFI/Linux/other-os.efi")); err != nil {
		t.Error("a file of another OS was removed")
	}
	if _, err := os.Stat(filepath.Join(root, p1)); err == nil {
		t.Error("generation 1 not removed")
	}
}

func must(p string, _ []byte) string { return p }

func TestBootCounterMatches(t *testing.T) {
	root := t.TempDir()
	f := &esp.OSFS{Root: root}
	p := plan(f, 100, 1)
	if _, _, err := run(t, p); err != nil {
		t.Fatal(err)
	}
	path, _ := entry(1, 100)
	counted := strings.TrimSuffix(path, ".efi") + "+0-3.efi"
	os.Rename(filepath.Join(root, path), filepath.Join(root, counted))
	pr, res, err := run(t, plan(f, 100, 1))
	if err != nil || res.Written != 0 || statuses(pr)[filepath.Base(counted)] != esp.Unchanged {
		t.Fatalf("renamed by systemd-boot: %v %d %v", err, res.Written, statuses(pr))
	}
}

func TestSpace(t *testing.T) {
	const block = 4096
	// Room for the loader.conf, two entries and directories, not three.
	capacity := int64(block * 13)
	root := t.TempDir()
	f := &faultfs.FS{Inner: &esp.OSFS{Root: root}, Capacity: capacity}
	pr, _, err := run(t, plan(f, 3*block, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(pr)
	p1, _ := entry(1, 0)
	p3, _ := entry(3, 0)
	if st[filepath.Base(p3)] != esp.Installed || st[filepath.Base(p1)] != esp.LeftOut || pr.Missing <= 0 {
		t.Fatalf("statuses %v, missing %d", st, pr.Missing)
	}
	// Too small for the newest: nothing changes.
	root2 := t.TempDir()
	f2 := &faultfs.FS{Inner: &esp.OSFS{Root: root2}, Capacity: 2 * block}
	if _, err := esp.Prepare(plan(f2, 3*block, 1)); !errors.Is(err, esp.ErrNoSpace) {
		t.Fatalf("got %v, want ErrNoSpace", err)
	}
	if f2.Ops() != 0 {
		t.Errorf("%d operations on a partition too small", f2.Ops())
	}
	// Old generations make room for the new default.
	pr, _, err = run(t, plan(f, 3*block, 4, 5))
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(pr); st[filepath.Base(must(entry(5, 0)))] != esp.Installed || st[filepath.Base(must(entry(2, 0)))] != esp.Removed {
		t.Fatalf("statuses %v", st)
	}
}

// TestCrashMatrix fails every step of an install, and of a later run that
// also removes old generations, then checks the partition: the default
// loader.conf names is there and complete, every entry present is
// complete, and a run without faults afterwards leaves no temporary file
// and a right digest record (the run after it writes nothing).
func TestCrashMatrix(t *testing.T) {
	for _, scenario := range []struct {
		name        string
		before, gen []int
	}{
		{"first install", nil, []int{1, 2, 3}},
		{"update and gc", []int{1, 2, 3}, []int{3, 4, 5}},
	} {
		for k := 1; ; k++ {
			root := t.TempDir()
			base := &esp.OSFS{Root: root}
			if scenario.before != nil {
				var calls atomic.Int32
				if _, _, err := run(t, recorded(base, &calls, 5000, scenario.before...)); err != nil {
					t.Fatal(err)
				}
			}
			f := &faultfs.FS{Inner: base, FailAt: k}
			var calls atomic.Int32
			_, _, err := run(t, recorded(f, &calls, 5000, scenario.gen...))
			checkInvariants(t, fmt.Sprintf("%s, fault at %d", scenario.name, k), root, scenario.before == nil && err != nil)
			if err == nil {
				if k == 1 {
					t.Fatalf("%s: no operation to fail", scenario.name)
				}
				t.Logf("%s: %d steps", scenario.name, k-1)
				break
			}
			if !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("%s, fault at %d: %v", scenario.name, k, err)
			}
			// The next run completes and cleans up, and the one after
			// has nothing to do.
			if _, _, err := run(t, recorded(base, &calls, 5000, scenario.gen...)); err != nil {
				t.Fatalf("%s, fault at %d, rerun: %v", scenario.name, k, err)
			}
			if pr, res, err := run(t, recorded(base, &calls, 5000, scenario.gen...)); err != nil || res.Written != 0 || pr.Changes() {
				t.Fatalf("%s, fault at %d, a third run: %v, %d bytes written", scenario.name, k, err, res.Written)
			}
			checkInvariants(t, fmt.Sprintf("%s, fault at %d, rerun", scenario.name, k), root, false)
			temps, _ := filepath.Glob(filepath.Join(root, "*/*/*"+esp.TempSuffix))
			loaderTemps, _ := filepath.Glob(filepath.Join(root, "*/*"+esp.TempSuffix))
			if temps = append(temps, loaderTemps...); len(temps) > 0 {
				t.Errorf("%s, fault at %d: temporary files after a rerun: %v", scenario.name, k, temps)
			}
		}
	}
}

// checkInvariants: loader.conf's default exists and is complete, and every
// entry present is complete. noLoader allows a first install that stopped
// before loader.conf.
func checkInvariants(t *testing.T, what, root string, noLoader bool) {
	t.Helper()
	f := &esp.OSFS{Root: root}
	exists, ours, def, err := esp.ReadLoaderConf(f)
	if err != nil || (!exists && !noLoader) || (exists && (!ours || def == "")) {
		t.Fatalf("%s: loader.conf exists %v ours %v default %q err %v", what, exists, ours, def, err)
	}
	names, _ := os.ReadDir(filepath.Join(root, esp.LinuxDir))
	found := !exists
	for _, n := range names {
		if strings.HasSuffix(n.Name(), esp.TempSuffix) {
			continue
		}
		g, ok := esp.EntryGeneration(n.Name())
		if !ok {
			t.Fatalf("%s: stray %s", what, n.Name())
		}
		_, want := entry(g, 5000)
		got, _ := os.ReadFile(filepath.Join(root, esp.LinuxDir, n.Name()))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s is incomplete (%d bytes)", what, n.Name(), len(got))
		}
		if esp.EntryID(n.Name()) == def {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: default %s is not on the partition", what, def)
	}
}
