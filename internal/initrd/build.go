package initrd

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cpio"
)

// Build writes the initrd described by s to w as an uncompressed newc
// archive (the kernel accepts it as is; compression would only cost boot
// time under emulation).
func Build(w io.Writer, s Spec) error {
	a, err := archive(s)
	if err != nil {
		return err
	}
	if _, err := a.WriteTo(w); err != nil {
		return fmt.Errorf("writing initrd: %w", err)
	}
	return nil
}

// WriteFile builds the initrd into a file at dst, atomically.
func WriteFile(dst string, s Spec) error {
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error { return Build(w, s) })
}

func archive(s Spec) (*cpio.Archive, error) {
	bb := s.Busybox
	if bb == "" {
		bb = DefaultBusybox
	}
	var mods []Module
	modDir := ""
	if len(s.Modules) > 0 {
		if s.ModulesDir == "" {
			return nil, fmt.Errorf("initrd: modules %v requested without a modules directory", s.Modules)
		}
		var err error
		if mods, err = ResolveModules(s.ModulesDir, s.Modules); err != nil {
			return nil, err
		}
		modDir = path.Join(modulesRoot, filepath.Base(filepath.Clean(s.ModulesDir)))
	}

	a := &cpio.Archive{}
	steps := []func() error{
		func() error { return a.AddDir("bin", 0o755) },
		func() error { return a.AddDir("dev", 0o755) },
		func() error { return a.AddNode("dev/console", cpio.TypeChar, 0o600, consoleMajor, consoleMinor) },
		func() error { return a.AddDir("proc", 0o755) },
		func() error { return a.AddDir("sys", 0o755) },
		func() error { return a.AddDir("tmp", 0o1777) },
		func() error { return a.AddFile(busyboxPath, 0o755, bb) },
		// The one applet needed before "busybox --install" has run.
		func() error { return a.AddSymlink("bin/sh", "busybox") },
		func() error { return a.AddBytes(initPath, 0o755, []byte(initScript(s, mods, modDir))) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("initrd: %w", err)
		}
	}
	for _, m := range mods {
		if err := a.AddFile(path.Join(modDir, m.Path), 0o644, filepath.Join(s.ModulesDir, m.Path)); err != nil {
			return nil, fmt.Errorf("initrd: module %s: %w", m.Name, err)
		}
	}
	files := append([]File(nil), s.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		name := strings.TrimPrefix(f.Name, "/")
		var err error
		if f.HostPath != "" {
			err = a.AddFile(name, f.Perm, f.HostPath)
		} else {
			err = a.AddBytes(name, f.Perm, f.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("initrd: extra file: %w", err)
		}
	}
	return a, nil
}

// FindKernel returns the kernel image in bootDir (normally /boot) and its
// version, taken from the vmlinuz-VERSION name, choosing among several the
// greatest version that has a modules directory under modulesDir.
func FindKernel(bootDir, modulesDir string) (vmlinuz, version string, err error) {
	matches, err := filepath.Glob(filepath.Join(bootDir, "vmlinuz-*"))
	if err != nil {
		return "", "", err
	}
	sort.Strings(matches)
	for i := len(matches) - 1; i >= 0; i-- {
		v := strings.TrimPrefix(filepath.Base(matches[i]), "vmlinuz-")
		if fi, err := os.Stat(filepath.Join(modulesDir, v)); err == nil && fi.IsDir() {
			return matches[i], v, nil
		}
	}
	return "", "", fmt.Errorf("no kernel in %s with modules in %s", bootDir, modulesDir)
}
