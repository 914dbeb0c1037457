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
	got, err := Merge(Source{"stub", []byte(stub)}, Source{"kernel", []byte(kernel)}, Source{"user", []byte(user)})
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
	_, err := Merge(Source{"extra.csv", []byte("ok,1,a,b,c,d\nbad,1,a,b\n")})
	if err == nil || !strings.Contains(err.Error(), "extra.csv line 2") {
		t.Fatalf("got %v, want an error naming extra.csv line 2", err)
	}
}
