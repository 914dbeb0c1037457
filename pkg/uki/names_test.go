package uki

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	ourpe "github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

func TestShadowedName(t *testing.T) {
	stub252 := StubInfo{LoaderStub, "252.39-1~deb12u2"}
	stub257 := StubInfo{LoaderStub, "257.1"}
	for _, tc := range []struct {
		name string
		stub StubInfo
		std  string // "" when not shadowed
	}{
		{".linux", stub252, ""},
		{".linuxZZ", stub252, ".linux"},
		{".linuxZZ", stub257, ".linux"},
		{".initrdX", stub252, ".initrd"},
		{".cmdline2", stub257, ".cmdline"},
		{".dtbauto", stub252, ".dtb"},
		{".dtbauto", stub257, ""},
		{".dtbautoX", stub257, ".dtb"},
		{".dtbauto", StubInfo{}, ".dtb"},
		{".lin", stub252, ""},
		{".extra", stub252, ""},
		{".pcrsig", stub252, ""},
	} {
		std, ok := ShadowedName(tc.name, tc.stub)
		if std != tc.std || ok != (tc.std != "") {
			t.Errorf("ShadowedName(%q, %s) = %q, %v; want %q", tc.name, tc.stub, std, ok, tc.std)
		}
	}
}

// TestInspectFlagsShadowedName: an image carrying .linuxZZ (made by
// renaming an extra section, since build refuses the name) is not a UKI.
func TestInspectFlagsShadowedName(t *testing.T) {
	dir := t.TempDir()
	o := inputs(t, dir)
	o.Sections = append(o.Sections, NewSection(".abcdeZZ", []byte("other kernel")))
	img := build(t, o, nil, filepath.Join(dir, "uki.efi"))
	if bytes.Count(img, []byte(".abcdeZZ")) != 1 {
		t.Fatal("the section name is not found once")
	}
	img = bytes.Replace(img, []byte(".abcdeZZ"), []byte(".linuxZZ"), 1)
	f, err := ourpe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	if info.UKI || !strings.Contains(strings.Join(info.Problems, "\n"), "section .linuxZZ starts with .linux") {
		t.Errorf("UKI %v, problems %q", info.UKI, info.Problems)
	}
}

func TestSpecRefusesShadowedName(t *testing.T) {
	for _, name := range []string{".linuxZZ", ".initrdX", ".dtbauto"} {
		o := inputs(t, t.TempDir())
		o.Sections = append(o.Sections, NewSection(name, []byte("x")))
		if _, err := NewSpec(o); !errors.Is(err, ErrShadowedName) {
			t.Errorf("%s: %v, want %v", name, err, ErrShadowedName)
		}
	}
}
