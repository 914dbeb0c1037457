package measure

import (
	"errors"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

func TestParseBanks(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []Bank
		err  error
	}{
		{nil, AllBanks, nil},
		{[]string{"sha256"}, []Bank{SHA256}, nil},
		{[]string{"SHA512", "sha1"}, []Bank{SHA1, SHA512}, nil},
		{[]string{"sha256,sha384 sha256"}, []Bank{SHA256, SHA384}, nil},
		{[]string{"md5"}, nil, ErrUnknownBank},
		{[]string{"sha256", "sha3-256"}, nil, ErrUnknownBank},
		{[]string{"sha-256"}, nil, ErrUnknownBank},
	} {
		got, err := ParseBanks(tc.args...)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseBanks(%q): error %v, want %v", tc.args, err, tc.err)
			continue
		}
		if err == nil && !slices.Equal(got, tc.want) {
			t.Errorf("ParseBanks(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
	if _, err := ParseBank("md5"); err == nil || err.Error() != `"md5": unknown PCR bank (want sha1, sha256, sha384 or sha512)` {
		t.Errorf("ParseBank(md5) error %q", err)
	}
}

func TestParsePhases(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []Phase
		err  error
	}{
		{nil, DefaultPhases(), nil},
		{[]string{":"}, []Phase{""}, nil},
		{[]string{"::enter-initrd:"}, []Phase{"enter-initrd"}, nil},
		{[]string{"sysinit", "enter-initrd:leave-initrd", "sysinit"}, []Phase{"enter-initrd:leave-initrd", "sysinit"}, nil},
		{[]string{"enter-initrd, enter-initrd:leave-initrd"}, []Phase{"enter-initrd", "enter-initrd:leave-initrd"}, nil},
		{[]string{"enter-initrd:leave-initrd:sysinit:ready:shutdown:final"}, []Phase{"enter-initrd:leave-initrd:sysinit:ready:shutdown:final"}, nil},
		{[]string{"enter-initrd:bogus"}, nil, ErrUnknownPhase},
		{[]string{"Enter-Initrd"}, nil, ErrUnknownPhase},
	} {
		got, err := ParsePhases(tc.args...)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParsePhases(%q): error %v, want %v", tc.args, err, tc.err)
			continue
		}
		if err == nil && !slices.Equal(got, tc.want) {
			t.Errorf("ParsePhases(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	if _, err := ParsePhase("enter-initrd:bogus"); err == nil || err.Error() != `phase path "enter-initrd:bogus": word "bogus": unknown boot phase word (want enter-initrd, leave-initrd, sysinit, ready, shutdown or final)` {
		t.Errorf("error %q", err)
	}
	if s := Phase("").String(); s != ":" {
		t.Errorf("empty phase prints as %q", s)
	}
}

func TestRulesFor(t *testing.T) {
	for _, tc := range []struct {
		in      string
		version int
		uname   bool
		ucode   bool
		efifw   bool
		err     error
	}{
		{"#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####", 252, false, false, false, nil},
		{"#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####\x00\x00\x00", 252, false, false, false, nil},
		{"253.5-1", 253, false, false, false, nil},
		{"254", 254, true, false, false, nil},
		{"255.4-1ubuntu8", 255, true, false, false, nil},
		{"256.7", 256, true, true, false, nil},
		{"257~rc2-3", 257, true, true, false, nil},
		{"258.1", 258, true, true, true, nil},
		{"259", 259, true, true, true, nil},
		{"262.1-1", 262, true, true, true, nil},
		{"251.3", 0, false, false, false, ErrUnknownStubVersion},
		{"263", 0, false, false, false, ErrUnknownStubVersion},
		{"#### LoaderInfo: systemd-stub 300 ####", 0, false, false, false, ErrUnknownStubVersion},
		{"v252", 0, false, false, false, ErrUnknownStubVersion},
		{"", 0, false, false, false, ErrUnknownStubVersion},
		{"#### LoaderInfo: systemd-boot 252 ####", 0, false, false, false, ErrNoStubVersion},
		{"#### LoaderInfo: systemd-stub  ####", 0, false, false, false, ErrNoStubVersion},
	} {
		r, err := RulesFor(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("RulesFor(%q): error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if r.Version != tc.version || r.Measures(uki.SectionUname) != tc.uname || r.Measures(uki.SectionSBAT) != tc.uname ||
			r.Measures(uki.SectionUcode) != tc.ucode || r.Measures(uki.SectionEFIFW) != tc.efifw {
			t.Errorf("RulesFor(%q) = %+v", tc.in, r)
		}
		if r.Measures(uki.SectionPCRSig) {
			t.Errorf("RulesFor(%q) measures .pcrsig", tc.in)
		}
		if r.Sections[0] != uki.SectionLinux {
			t.Errorf("RulesFor(%q) does not start with .linux", tc.in)
		}
	}
	_, err := RulesFor("#### LoaderInfo: systemd-stub 263.1-1 ####")
	if err == nil || err.Error() != `systemd-stub "263.1-1": unknown systemd-stub version (known: 252 to 262)` {
		t.Errorf("error for 263: %q", err)
	}
}
