package iso9660

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// What blkid reports for ISOs xorriso writes, we read.
func TestReadAgainstBlkid(t *testing.T) {
	xorriso, blkid := peer.Tool(t, "xorriso"), peer.Tool(t, "blkid")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ args []string }{
		{[]string{"-V", "NIXOS_ISO", "--modification-date=2499042009403287"}},
		{[]string{"-V", "nixos-25.11-x86_64"}},
		{nil},
	}
	for i, c := range cases {
		img := filepath.Join(t.TempDir(), "v.iso")
		args := append([]string{"-no_rc", "-as", "mkisofs", "-o", img}, c.args...)
		if out, err := exec.Command(xorriso, append(args, "-R", filepath.Join(dir, "file"))...).CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v\n%s", err, out)
		}
		out, err := exec.Command(blkid, "-p", "-o", "export", img).Output()
		if err != nil {
			t.Fatalf("blkid: %v", err)
		}
		want := Volume{}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "LABEL="); ok {
				want.Label = v
			}
			if v, ok := strings.CutPrefix(line, "UUID="); ok {
				want.UUID = v
			}
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(f)
		f.Close()
		if err != nil || got != want || got.UUID == "" {
			t.Errorf("case %d: %+v, %v; blkid says %+v", i, got, err, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good := make([]byte, SectorSize)
	copy(good, "\x01CD001\x01")
	copy(good[volumeIDOffset:], "LABEL")
	copy(good[modifiedOffset:], "2026120201020300")
	if v, err := Parse(good); err != nil || v.Label != "LABEL" || v.UUID != "2026-12-02-01-02-03-00" {
		t.Fatalf("%+v, %v", v, err)
	}
	mutate := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	for name, s := range map[string][]byte{
		"short":            good[:100],
		"no signature":     mutate(func(b []byte) { b[3] = 'X' }),
		"supplementary":    mutate(func(b []byte) { b[0] = 2 }),
		"control in label": mutate(func(b []byte) { b[volumeIDOffset] = '\n' }),
		"letters in date":  mutate(func(b []byte) { b[modifiedOffset+3] = 'x' }),
	} {
		if _, err := Parse(s); !errors.Is(err, ErrNotISO9660) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Read(bytes.NewReader(good)); !errors.Is(err, ErrNotISO9660) {
		t.Errorf("a device shorter than the descriptor: %v", err)
	}
}
