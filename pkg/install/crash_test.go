package install

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/faultfs"
	"github.com/nix-boot-security/nix-boot-security/internal/mtoolsfs"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/systemtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// smallWorld has generations with a tiny stand-in kernel and initrd, so
// that an install takes few file-system steps and the crash matrix stays
// quick; the images are still composed, signed and checked for real.
func smallWorld(t *testing.T, gens ...int) *world {
	w := newWorld(t)
	kernel := filepath.Join(w.dir, "kernel")
	os.WriteFile(kernel, bytes.Repeat([]byte("k"), 3000), 0o644)
	for _, n := range gens {
		ird := filepath.Join(w.dir, fmt.Sprintf("initrd-%d", n))
		os.WriteFile(ird, []byte(systemtest.Marker(n, "")), 0o644)
		w.profiles.Add(t, systemtest.Generation{Number: n, Toplevel: w.top, Kernel: kernel, Initrd: ird, Time: time.Date(2026, 2, n, 0, 0, 0, 0, time.UTC)})
	}
	return w
}

// TestCrashMatrix fails the k-th file-system step of an install of three
// generations, and of a later run that installs two more and removes two
// (limit 3), for every k, then checks the ESP: loader.conf's default is
// there, complete and correctly signed, every UKI present verifies, and a
// run without faults afterwards completes and leaves no temporary file, and
// a run after that writes nothing.
func TestCrashMatrix(t *testing.T) {
	w := smallWorld(t, 1, 2, 3)
	ctx := context.Background()
	// Hundreds of runs, each syncing every file: on a tmpfs when there is
	// one, so the test measures the installer, not the disk.
	if shm, err := os.MkdirTemp("/dev/shm", "nbs-crash-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		w.esp = filepath.Join(shm, "esp")
	}
	base := w.options()
	// The closure manifest is not what this test is about (TestRunInstall
	// checks it); making one per run would dominate its time.
	base.Closure = false
	base.Limit = 3
	reset := func() {
		os.RemoveAll(w.esp)
		os.Mkdir(w.esp, 0o755)
	}
	for _, scenario := range []string{"first install", "update and gc"} {
		steps := 0
		for k := 1; ; k++ {
			reset()
			if scenario == "update and gc" {
				for _, n := range []int{4, 5} {
					os.Remove(filepath.Join(w.profiles.Dir, fmt.Sprintf("system-%d-link", n)))
				}
				if _, err := Run(ctx, base); err != nil {
					t.Fatal(err)
				}
				addSmall(t, w, 4)
				addSmall(t, w, 5)
			}
			o := base
			var ffs *faultfs.FS
			o.OpenFS = func(dir string) (esp.FS, error) {
				ffs = &faultfs.FS{Inner: &esp.OSFS{Root: dir}, FailAt: k}
				return ffs, nil
			}
			_, err := Run(ctx, o)
			what := fmt.Sprintf("%s, fault at step %d", scenario, k)
			if err == nil {
				steps = k - 1
				break
			}
			if !errors.Is(err, faultfs.ErrInjected) {
				t.Fatalf("%s: %v", what, err)
			}
			crashInvariants(t, w, what, scenario == "first install")
			if _, err := Run(ctx, base); err != nil {
				t.Fatalf("%s, then a clean run: %v", what, err)
			}
			crashInvariants(t, w, what+", then a clean run", false)
			// Then nothing is left to do: the digest record is right
			// again, whatever step the crash interrupted.
			if rep, err := Run(ctx, base); err != nil || rep.BytesWritten != 0 || rep.Changed() {
				t.Fatalf("%s, a clean run, then another: %v, %d bytes written", what, err, rep.BytesWritten)
			}
			temps, _ := filepath.Glob(filepath.Join(w.esp, "*", "*", "*"+esp.TempSuffix))
			loaderTemps, _ := filepath.Glob(filepath.Join(w.esp, "*", "*"+esp.TempSuffix))
			if temps = append(temps, loaderTemps...); len(temps) > 0 {
				t.Errorf("%s: temporary files left after a clean run: %v", what, temps)
			}
		}
		if steps == 0 {
			t.Fatalf("%s: no step to fail", scenario)
		}
		t.Logf("%s: a fault injected at each of %d steps", scenario, steps)
	}
}

func addSmall(t *testing.T, w *world, n int) {
	kernel := filepath.Join(w.dir, "kernel")
	ird := filepath.Join(w.dir, fmt.Sprintf("initrd-%d", n))
	os.WriteFile(ird, []byte(systemtest.Marker(n, "")), 0o644)
	w.profiles.Add(t, systemtest.Generation{Number: n, Toplevel: w.top, Kernel: kernel, Initrd: ird, Time: time.Date(2026, 2, n, 0, 0, 0, 0, time.UTC)})
}

// crashInvariants: loader.conf (unless a first install stopped before it)
// names an entry that is there and verifies; every entry verifies.
func crashInvariants(t *testing.T, w *world, what string, firstInstall bool) {
	t.Helper()
	exists, ours, def, err := esp.ReadLoaderConf(&esp.OSFS{Root: w.esp})
	if err != nil || (!exists && !firstInstall) || (exists && (!ours || def == "")) {
		t.Fatalf("%s: loader.conf exists %v ours %v default %q: %v", what, exists, ours, def, err)
	}
	names, _ := filepath.Glob(filepath.Join(w.esp, esp.LinuxDir, "*.efi"))
	found := !exists
	for _, p := range names {
		if err := verifyFile(p, w.id.Cert); err != nil {
			t.Errorf("%s: %s: %v", what, filepath.Base(p), err)
		}
		if esp.EntryID(filepath.Base(p)) == def {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: the default %s is not on the ESP", what, def)
	}
	if exists {
		for _, p := range []string{esp.SystemdBootPath, esp.FallbackPath} {
			if err := verifyFile(filepath.Join(w.esp, p), w.id.Cert); err != nil {
				t.Errorf("%s: %s: %v", what, p, err)
			}
		}
	}
}

func verifyFile(p string, cert *x509.Certificate) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	f, err := pe.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	_, err = authenticode.VerifyImage(f, []*x509.Certificate{cert}, authenticode.Options{})
	return err
}

// TestSpaceFAT installs onto small FAT images (mkfs.vfat, written through
// mtools): one too small for every generation takes the newest that fit
// and names the rest; one too small for the newest is left unchanged.
func TestSpaceFAT(t *testing.T) {
	peer.Tool(t, "mkfs.vfat")
	peer.Tool(t, "mcopy")
	w := newWorld(t)
	for n := 1; n <= 4; n++ {
		w.add(t, n)
	}
	ctx := context.Background()
	kernel, _ := os.Stat(systemtest.Kernel(t))
	uki := kernel.Size() + 2<<20 // kernel, busybox initrd, stub, manifest
	for _, tc := range []struct {
		name     string
		size     int64
		fits     int // generations installed, newest first; 0: the run fails
		leftOuts int
	}{
		{"room for two", 2*uki + 4<<20, 2, 2},
		{"room for none", uki / 2, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := &mtoolsfs.FS{Image: filepath.Join(dir, "esp.img"), Tmp: dir}
			if err := mtoolsfs.Format(f.Image, tc.size); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(f.Image)
			o := w.options()
			o.OpenFS = func(string) (esp.FS, error) { return f, nil }
			rep, err := Run(ctx, o)
			var text bytes.Buffer
			if rep != nil {
				rep.WriteText(&text)
			}
			if tc.fits == 0 {
				if !errors.Is(err, ErrFailed) || !errors.Is(err, esp.ErrNoSpace) {
					t.Fatalf("got %v, want ErrFailed with ErrNoSpace", err)
				}
				after, _ := os.ReadFile(f.Image)
				if !bytes.Equal(before, after) {
					t.Error("the image changed")
				}
				t.Logf("%v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("report:\n%s", text.String())
			for n := 4; n > 0; n-- {
				want := "installed"
				if n <= 4-tc.fits {
					want = "left out"
				}
				if got := statusOf(rep, n, ""); got != want {
					t.Errorf("generation %d: %q, want %q", n, got, want)
				}
			}
			if rep.MissingBytes <= 0 || !strings.Contains(text.String(), "more bytes needed") {
				t.Errorf("missing bytes %d", rep.MissingBytes)
			}
		})
	}
}
