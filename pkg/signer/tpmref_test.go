package signer

import (
	"errors"
	"testing"
)

func TestParseTPMRef(t *testing.T) {
	tests := []struct {
		ref  string
		want TPMRef
	}{
		{"tpm:handle=0x81000001", TPMRef{Handle: 0x81000001}},
		{"tpm:blob=/var/lib/keys/db.tpmkey", TPMRef{Blob: "/var/lib/keys/db.tpmkey"}},
		{"tpm:blob=db.tpmkey?device=/dev/tpm0", TPMRef{Blob: "db.tpmkey", Device: "/dev/tpm0"}},
		{"tpm:handle=2164260865?swtpm=/run/swtpm/sock", TPMRef{Handle: 0x81000001, Swtpm: "/run/swtpm/sock"}},
		{"tpm:handle=0x81000001?swtpm=localhost:2321", TPMRef{Handle: 0x81000001, Swtpm: "localhost:2321"}},
	}
	for _, tt := range tests {
		got, err := ParseTPMRef(tt.ref)
		if err != nil || *got != tt.want {
			t.Errorf("%q: %+v %v, want %+v", tt.ref, got, err, tt.want)
			continue
		}
		again, err := ParseTPMRef(got.String())
		if err != nil || *again != *got {
			t.Errorf("%q: String %q does not read back: %v", tt.ref, got.String(), err)
		}
	}
}

func TestParseTPMRefErrors(t *testing.T) {
	for _, ref := range []string{
		"tpm:",
		"tpm:handle=0x80000001",
		"tpm:handle=0x1000000000",
		"tpm:handle=x",
		"tpm:blob=",
		"tpm:blob=a;handle=0x81000001",
		"tpm:blob=a;blob=b",
		"tpm:key=a",
		"tpm:blob=a?device=/dev/tpm0&swtpm=s",
		"tpm:blob=a?blob=b",
		"tpm:blob=a?device",
		"tpm:blob=a?color=red",
		"pkcs11:blob=a",
	} {
		if _, err := ParseTPMRef(ref); !errors.Is(err, ErrReference) {
			t.Errorf("%q: %v, want ErrReference", ref, err)
		}
	}
}

func TestKindOf(t *testing.T) {
	for ref, want := range map[string]Kind{
		"/etc/keys/db.key":      KindFile,
		"./pkcs11:odd-name.key": KindFile,
		"pkcs11:token=a":        KindPKCS11,
		"PKCS11:token=a":        KindPKCS11,
		"tpm:handle=0x81000001": KindTPM,
	} {
		if got := KindOf(ref); got != want {
			t.Errorf("%q: %v, want %v", ref, got, want)
		}
	}
}
