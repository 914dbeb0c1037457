package pkcs11uri

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	u, err := Parse("pkcs11:token=Org%20CA;object=db;id=%01%ff;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Token != "Org CA" || u.Object != "db" || !bytes.Equal(u.ID, []byte{1, 0xff}) || u.Type != "private" ||
		u.ModulePath != "/usr/lib/softhsm/libsofthsm2.so" || u.PINSource != "file:/run/pin" || u.HasPINValue {
		t.Fatalf("%+v", u)
	}
	if p, err := u.PINFile(); err != nil || p != "/run/pin" {
		t.Fatalf("PINFile %q %v", p, err)
	}
	if s := u.String(); s != "pkcs11:token=Org CA;object=db;id=%01%FF" {
		t.Fatalf("String %q", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"pkcs12:token=a",
		"token=a",
		"pkcs11:token=a;token=b",
		"pkcs11:token=a;frobnicate=1",
		"pkcs11:token=a?frobnicate=1",
		"pkcs11:token=%zz",
		"pkcs11:token=%4",
		"pkcs11:token",
		"pkcs11:=x",
		"pkcs11:type=public",
		"pkcs11:slot-id=x",
		"pkcs11:library-version=1",
		"pkcs11:" + strings.Repeat("a", MaxLength),
	} {
		if _, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", s, err)
		}
	}
}

func TestPINValue(t *testing.T) {
	u, err := Parse("pkcs11:token=a?pin-value=")
	if err != nil || !u.HasPINValue || u.PINValue != "" {
		t.Fatalf("%+v %v", u, err)
	}
	if strings.Contains(mustParse(t, "pkcs11:token=a?pin-value=1234").String(), "1234") {
		t.Fatal("String shows the PIN")
	}
}

func TestPINFile(t *testing.T) {
	for src, want := range map[string]string{
		"":                "",
		"/run/pin":        "/run/pin",
		"file:/run/pin":   "/run/pin",
		"file:///run/pin": "/run/pin",
		"relative/pin":    "relative/pin",
		"file://host/pin": "!",
		"https://x/pin":   "!",
		"file:":           "!",
		"env:NIX_UKI_PIN": "!",
	} {
		got, err := (&URI{PINSource: src}).PINFile()
		if (want == "!") != (err != nil) || (err == nil && got != want) {
			t.Errorf("%q: %q %v, want %q", src, got, err, want)
		}
	}
}

func mustParse(t *testing.T, s string) *URI {
	t.Helper()
	u, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
