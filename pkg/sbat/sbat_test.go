package sbat

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{"systemd,1,The systemd Developers,systemd,252,https://systemd.io/", true},
		{"a,2,b,c,d,e", true},
		{"a,1,b,c,d", false},           // five fields
		{"a,1,b,c,d,e,f", false},       // seven fields
		{"a,1,,c,d,e", false},          // empty vendor_name
		{"a,1,b,c,d,", false},          // empty url
		{"a,x,b,c,d,e", false},         // non-numeric generation
		{"a,0,b,c,d,e", false},         // generation zero
		{"a,1,b,c,d,e\x00junk", false}, // NUL
	}
	for _, tc := range tests {
		_, err := ParseLine(tc.line)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err = %v, want ok=%v", tc.line, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: error %v is not ErrMalformed", tc.line, err)
		}
	}
}

func TestMerge(t *testing.T) {
	stub := Header + "\nsystemd,1,The systemd Developers,systemd,252,https://systemd.io/\n\x00\x00"
	kernel := Header + "\nlinux,1,The Linux Developers,linux,6.1,https://linux.org/\n"
	user := UKIEntry + "\nsystemd,1,The systemd Developers,systemd,252,https://systemd.io/"
	got, err := Merge(Source{Name: "stub", Text: []byte(stub)}, Source{Name: "kernel", Text: []byte(kernel)}, Source{Name: "user", Text: []byte(user)})
	if err != nil {
		t.Fatal(err)
	}
	want := Header + "\n" +
		"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"linux,1,The Linux Developers,linux,6.1,https://linux.org/\n" +
		UKIEntry + "\n\x00"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestMergeRefusesBadLine(t *testing.T) {
	_, err := Merge(Source{Name: "extra.csv", Text: []byte("ok,1,a,b,c,d\nbad,1,a,b\n")})
	if err == nil || !strings.Contains(err.Error(), "extra.csv line 2") {
		t.Fatalf("got %v, want an error naming extra.csv line 2", err)
	}
}

// debianStub is the .sbat of Debian 12's systemd-stub 252.39-1~deb12u2
// (objcopy -O binary --only-section=.sbat linuxx64.efi.stub).
const debianStub = Header + "\n" +
	"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
	"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n\x00"

func TestMergeReplaces(t *testing.T) {
	defaults, err := UKIDefaults(Vendor{}, "252", "252.39-1~deb12u2")
	if err != nil {
		t.Fatal(err)
	}
	stub := Source{Name: "stub", Text: []byte(debianStub)}
	def := Source{Name: "default", Text: defaults, Default: true}
	tests := []struct {
		name    string
		sources []Source
		want    string // lines after the header
		err     error
	}{
		{"defaults beside the stub's", []Source{stub, def}, "" +
			"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n" +
			"systemd-stub,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd-stub.nixos,1,NixOS,systemd,252.39-1~deb12u2,https://nixos.org/\n" +
			UKIEntry + "\n" +
			"uki.nixos,1,NixOS,uki,1,https://nixos.org/\n", nil},
		{"user raises systemd in place", []Source{stub, def, {Name: "--sbat", Text: []byte("systemd,2,The systemd Developers,systemd,252,https://systemd.io/")}}, "" +
			"systemd,2,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n" +
			"systemd-stub,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd-stub.nixos,1,NixOS,systemd,252.39-1~deb12u2,https://nixos.org/\n" +
			UKIEntry + "\n" +
			"uki.nixos,1,NixOS,uki,1,https://nixos.org/\n", nil},
		{"user replaces a default", []Source{stub, def, {Name: "--sbat", Text: []byte("uki.nixos,3,NixOS,uki,24.05,https://nixos.org/")}}, "" +
			"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n" +
			"systemd-stub,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
			"systemd-stub.nixos,1,NixOS,systemd,252.39-1~deb12u2,https://nixos.org/\n" +
			UKIEntry + "\n" +
			"uki.nixos,3,NixOS,uki,24.05,https://nixos.org/\n", nil},
		{"a default never replaces", []Source{{Name: "stub", Text: []byte("systemd-stub,4,The systemd Developers,systemd,258,https://systemd.io/")}, def}, "" +
			"systemd-stub,4,The systemd Developers,systemd,258,https://systemd.io/\n" +
			"systemd-stub.nixos,1,NixOS,systemd,252.39-1~deb12u2,https://nixos.org/\n" +
			UKIEntry + "\n" +
			"uki.nixos,1,NixOS,uki,1,https://nixos.org/\n", nil},
		{"lowering refused", []Source{{Name: "stub", Text: []byte("systemd,2,a,b,c,d")}, {Name: "--sbat", Text: []byte("systemd,1,a,b,c,d")}}, "", ErrLowerGeneration},
		{"component twice in one source", []Source{{Name: "--sbat", Text: []byte("x,1,a,b,c,d\nx,2,a,b,c,d")}}, "", ErrDuplicateComponent},
		{"exact repeat in one source", []Source{{Name: "--sbat", Text: []byte("x,1,a,b,c,d\nx,1,a,b,c,d")}}, "x,1,a,b,c,d\n", nil},
		{"later sources replace earlier ones", []Source{{Name: "1", Text: []byte("x,1,a,b,c,d")}, {Name: "2", Text: []byte("x,2,a,b,c,d")}, {Name: "3", Text: []byte("x,10,a,b,c,d")}}, "x,10,a,b,c,d\n", nil},
	}
	for _, tc := range tests {
		got, err := Merge(tc.sources...)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && string(got) != Header+"\n"+tc.want+"\x00" {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestVendor(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"nixos,NixOS,https://nixos.org/", true},
		{"acme-corp,ACME Corp.,mailto:security@acme.example", true},
		{"nixos,NixOS", false},
		{"NixOS,NixOS,https://nixos.org/", false},  // upper case
		{"nix.os,NixOS,https://nixos.org/", false}, // a dot separates the vendor
		{"nixos, ,https://nixos.org/", false},
	} {
		v, err := ParseVendor(tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrVendor)) || (err == nil && v.String() != tc.in) {
			t.Errorf("ParseVendor(%q) = %+v, %v", tc.in, v, err)
		}
	}
	text, err := UKIDefaults(Vendor{ID: "acme", Name: "ACME", URL: "https://acme.example/"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := UKIEntry + "\nuki.acme,1,ACME,uki,1,https://acme.example/\n"; string(text) != want {
		t.Errorf("UKIDefaults without a stub version:\n%s", text)
	}
}
