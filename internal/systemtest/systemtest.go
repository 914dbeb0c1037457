// Package systemtest makes NixOS-like generations for install tests: a
// toplevel directory per generation holding a real bootspec v1 boot.json
// (the host's Debian kernel, a busybox initrd that prints the generation,
// a small real Nix closure as the bootspec's toplevel so manifests come from
// Nix's database), profile links system-N-link with chosen mtimes, and
// specialisations.
//
// For tests only; it trusts the host files it is pointed at.
package systemtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// Host files the generations boot with (Debian 12's).
const (
	Stub        = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	SystemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
)

// Marker is what generation n's (specialisation spec's) initrd prints.
func Marker(n int, spec string) string {
	if spec == "" {
		return fmt.Sprintf("NBS-GENERATION-%d-BOOTED", n)
	}
	return fmt.Sprintf("NBS-GENERATION-%d-%s-BOOTED", n, spec)
}

// Generation describes one generation to make.
type Generation struct {
	Number          int
	Time            time.Time
	Toplevel        string   // the bootspec's toplevel (a store path); required
	Params          []string // kernelParams
	Specialisations []string // names; each gets params "nbs.spec=NAME"
	Kernel          string   // default: the host's kernel
	Initrd          string   // default: a busybox initrd printing Marker
	NoBootspec      bool     // leave boot.json out
	BootJSON        string   // write this instead of a bootspec
}

// Profiles is a profile directory with its generations.
type Profiles struct {
	Dir  string // holds system-N-link
	root string
}

// New makes an empty profile directory under dir.
func New(t testing.TB, dir string) *Profiles {
	t.Helper()
	p := &Profiles{Dir: filepath.Join(dir, "profiles"), root: dir}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Kernel returns the host's Debian kernel.
func Kernel(t testing.TB) string {
	t.Helper()
	k, _, err := initrd.FindKernel("/boot", "/lib/modules")
	if err != nil {
		peer.Missing(t, "no host kernel (linux-image-amd64): %v", err)
	}
	return k
}

// Add makes generation g: its toplevel directory and its link. It returns
// the toplevel directory (the link's target).
func (p *Profiles) Add(t testing.TB, g Generation) string {
	t.Helper()
	dir := filepath.Join(p.root, fmt.Sprintf("system-%d", g.Number))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if g.Kernel == "" {
		g.Kernel = Kernel(t)
	}
	doc := p.doc(t, dir, g, "")
	if len(g.Specialisations) > 0 {
		specs := map[string]any{}
		for _, s := range g.Specialisations {
			specs[s] = p.doc(t, filepath.Join(dir, "specialisation", s), g, s)
		}
		doc["org.nixos.specialisation.v1"] = specs
	}
	switch {
	case g.BootJSON != "":
		write(t, filepath.Join(dir, "boot.json"), []byte(g.BootJSON))
	case !g.NoBootspec:
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "boot.json"), b)
	}
	link := filepath.Join(p.Dir, fmt.Sprintf("system-%d-link", g.Number))
	os.Remove(link)
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if !g.Time.IsZero() {
		ts := unix.NsecToTimespec(g.Time.UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, link, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// doc is one bootspec document (the specialisation spec's, if set).
func (p *Profiles) doc(t testing.TB, dir string, g Generation, spec string) map[string]any {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ird := g.Initrd
	if ird == "" {
		ird = filepath.Join(dir, "initrd")
		if err := initrd.WriteFile(ird, initrd.Spec{Marker: Marker(g.Number, spec)}); err != nil {
			t.Fatal(err)
		}
	}
	params := append([]string{}, g.Params...)
	if spec != "" {
		params = append(params, "nbs.spec="+spec)
	}
	return map[string]any{"org.nixos.bootspec.v1": map[string]any{
		"system":       "x86_64-linux",
		"kernel":       g.Kernel,
		"kernelParams": params,
		"initrd":       ird,
		"init":         filepath.Join(g.Toplevel, "init"),
		"label":        "NixOS 25.05 (Linux test)",
		"toplevel":     g.Toplevel,
	}}
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
