package iso

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestCheckLabel(t *testing.T) {
	for _, ok := range []string{"NIXOS_ISO", "nixos-25.11-x86_64", "A", strings.Repeat("L", 32)} {
		if err := CheckLabel(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("L", 33), "with space", `quo"te`, "tab\t", "é"} {
		if err := CheckLabel(bad); !errors.Is(err, ErrLabel) {
			t.Errorf("%q: %v, want ErrLabel", bad, err)
		}
	}
}

// The volume UUID must be a date xorriso accepts (16 digits, year 1970 to
// 2999, every field in range), the same for the same root hash, and
// different for different ones.
func TestMediumFor(t *testing.T) {
	form := regexp.MustCompile(`^(2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])-([01]\d|2[0-3])-([0-5]\d)-([0-5]\d)-(\d\d)$`)
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		root := sha256.Sum256([]byte(fmt.Sprint(i)))
		m, err := MediumFor("NIXOS_ISO", root[:])
		if err != nil {
			t.Fatal(err)
		}
		if !form.MatchString(m.UUID) || len(m.xorrisoDate()) != 16 {
			t.Fatalf("UUID %q", m.UUID)
		}
		if again, _ := MediumFor("NIXOS_ISO", root[:]); again != m {
			t.Fatalf("not deterministic: %v, %v", m, again)
		}
		seen[m.UUID] = true
	}
	if len(seen) != 2000 {
		t.Errorf("%d distinct UUIDs for 2000 root hashes", len(seen))
	}
	if _, err := MediumFor("bad label", bytes.Repeat([]byte{1}, 32)); !errors.Is(err, ErrLabel) {
		t.Errorf("bad label: %v", err)
	}
}

func TestParams(t *testing.T) {
	m := Medium{Label: "NIXOS_ISO", UUID: "2499-04-20-09-40-32-87"}
	var words []string
	for _, p := range m.Params("/nix-store.squashfs", bytes.Repeat([]byte{0xab}, 32)) {
		words = append(words, p.String())
	}
	want := "nix-closure-verify.store=off nix-closure-verify.medium-label=NIXOS_ISO nix-closure-verify.medium-uuid=2499-04-20-09-40-32-87" +
		" nix-closure-verify.image=/nix-store.squashfs nix-closure-verify.root-hash=" + strings.Repeat("ab", 32)
	if got := strings.Join(words, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestOptionsCheck(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"no store", Options{Output: "x.iso"}},
		{"both stores", Options{ClosureInfo: "ci", StoreImage: "img", Output: "x.iso"}},
		{"image without manifest", Options{StoreImage: "img", Output: "x.iso"}},
		{"unsigned", Options{ClosureInfo: "ci", Output: "x.iso"}},
	}
	for _, c := range cases {
		if err := c.o.check(); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v, want ErrOptions", c.name, err)
		}
	}
}
