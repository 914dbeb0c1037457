package uki

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// FuzzInspect reads an image as `nix-uki inspect` does: every section
// hashed, the text sections (.osrel, .cmdline, .uname, .sbat, .sdmagic) read
// and SBAT parsed, signatures parsed and their digests compared. Seeds are
// real UKIs (testdata/mkfuzzseeds).
func FuzzInspect(f *testing.F) {
	fuzzbound.Fuzz(f, 16, func(t *testing.T, img []byte) {
		pf, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		info, err := Inspect(pf)
		if err != nil {
			return
		}
		if len(info.Sections) != len(pf.Sections) {
			t.Fatalf("%d sections described, the image has %d", len(info.Sections), len(pf.Sections))
		}
		// Problems may also list what the stub ignores (a malformed .sbat
		// or certificate table: regression-uki-with-problems), so a UKI is
		// judged by what the stub needs: a kernel and its own .sdmagic.
		linux := pf.Section(SectionLinux)
		if info.UKI && (linux == nil || linux.VirtualSize == 0 || !strings.HasPrefix(info.StubVersion, "systemd-stub")) {
			t.Fatalf("UKI: yes without .linux or without systemd-stub's .sdmagic (%q)", info.StubVersion)
		}
		if len(info.StubSections) > 0 && (info.StubSections[0] != SectionLinux || len(info.StubSections) > maxTableEntries) {
			t.Fatalf("stub section table %q", info.StubSections)
		}
	})
}

// TestFuzzSeeds proves the seeds are UKIs systemd-stub would boot, their
// signatures (if any) made for them.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzInspect", func(img []byte) error {
		pf, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return err
		}
		info, err := Inspect(pf)
		if err != nil {
			return err
		}
		if !info.UKI || info.OSRelease == "" || info.SBAT == "" {
			return fmt.Errorf("not a complete UKI: %q", info.Problems)
		}
		for _, s := range info.Signatures {
			if !s.DigestMatches {
				return errors.New("a signature's digest is not the image's")
			}
		}
		return nil
	})
}
