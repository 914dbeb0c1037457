package harness

import (
	"bytes"
	"debug/pe"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// UKIParts are the inputs of a Unified Kernel Image.
type UKIParts struct {
	Stub, Linux, Initrd, Cmdline, OSRelease string // Cmdline is text, the rest are paths
}

// ObjcopyUKI assembles a UKI the way systemd's documentation did before
// ukify, with objcopy appending sections at page-aligned addresses after
// the stub's image; optionally signs it with sbsign. It exists so the
// harness can be proven without this project's own nix-uki.
func ObjcopyUKI(p UKIParts, key, cert, out string) error {
	f, err := pe.Open(p.Stub)
	if err != nil {
		return fmt.Errorf("reading stub: %w", err)
	}
	var end uint64
	for _, s := range f.Sections {
		if e := uint64(s.VirtualAddress) + uint64(s.VirtualSize); e > end {
			end = e
		}
	}
	f.Close()
	dir, err := os.MkdirTemp("", "objcopy-uki-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmdline := filepath.Join(dir, "cmdline")
	if err := os.WriteFile(cmdline, []byte(p.Cmdline), 0o644); err != nil {
		return err
	}
	const page = 0x1000
	addr := (end + page - 1) &^ (page - 1)
	args := []string{}
	for _, s := range []struct{ name, file string }{
		{".osrel", p.OSRelease}, {".cmdline", cmdline}, {".linux", p.Linux}, {".initrd", p.Initrd},
	} {
		fi, err := os.Stat(s.file)
		if err != nil {
			return err
		}
		args = append(args,
			"--add-section", s.name+"="+s.file,
			"--change-section-vma", fmt.Sprintf("%s=%#x", s.name, addr))
		addr = (addr + uint64(fi.Size()) + page - 1) &^ (page - 1)
	}
	unsigned := out
	if key != "" {
		unsigned = filepath.Join(dir, "unsigned.efi")
	}
	if err := run("objcopy", append(args, p.Stub, unsigned)...); err != nil {
		return err
	}
	if key == "" {
		return nil
	}
	return run("sbsign", "--key", key, "--cert", cert, "--output", out, unsigned)
}

func run(name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
