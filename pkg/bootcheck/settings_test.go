package bootcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestSettingsRoundTrip(t *testing.T) {
	v := Values{"root": "/sysroot", "digest": "sha256:" + digestHex, "on-failure": "shell", "jobs": "2"}
	data, err := MarshalSettings(v)
	if err != nil {
		t.Fatal(err)
	}
	want := "nix-closure-verify-settings 1\ndigest=sha256:" + digestHex + "\njobs=2\non-failure=shell\nroot=/sysroot\nend\n"
	if string(data) != want {
		t.Fatalf("got %q\nwant %q", data, want)
	}
	back, err := ParseSettings(data)
	if err != nil || !equalValues(back, v) {
		t.Fatalf("%v %v", back, err)
	}
	// A value may hold spaces (a quoted command line word).
	data, err = MarshalSettings(Values{"root": "/my root"})
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseSettings(data); err != nil || back["root"] != "/my root" {
		t.Fatalf("%v %v", back, err)
	}
}

func TestParseSettingsRefuses(t *testing.T) {
	const h = "nix-closure-verify-settings 1\n"
	for _, c := range []struct{ name, data string }{
		{"empty", ""},
		{"no line end", h + "end"},
		{"other version", "nix-closure-verify-settings 2\nend\n"},
		{"no end", h + "root=/sysroot\n"},
		{"after end", h + "end\nroot=/x\n"},
		{"trailing empty line", h + "end\n\n"},
		{"no equals", h + "root\nend\n"},
		{"empty key", h + "=x\nend\n"},
		{"unknown key", h + "bogus=1\nend\n"},
		{"prefix in key", h + "nix-closure-verify.root=/x\nend\n"},
		{"underscore key", h + "on_failure=warn\nend\n"},
		{"unsorted", h + "root=/x\non-failure=warn\nend\n"},
		{"repeated", h + "root=/x\nroot=/x\nend\n"},
		{"carriage return", h + "root=/x\r\nend\n"},
		{"control character", h + "root=/x\x01\nend\n"},
		{"bad value", h + "on-failure=reboot\nend\n"},
		{"inconsistent", h + "image=/dev/vda\nend\n"},
		{"too large", h + "root=/" + strings.Repeat("x", MaxSettingsSize) + "\nend\n"},
	} {
		if _, err := ParseSettings([]byte(c.data)); !errors.Is(err, ErrSettings) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestMarshalSettingsRefuses(t *testing.T) {
	for _, v := range []Values{
		{"root": "/a\nb"},
		{"bogus": "1"},
		{"on-failure": "maybe"},
		{"root": "/" + strings.Repeat("x", MaxSettingsSize)},
	} {
		if data, err := MarshalSettings(v); err == nil {
			t.Errorf("%v: wrote %q", v, data)
		}
	}
}
