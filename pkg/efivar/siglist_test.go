package efivar

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

const testOwner = "11111111-2222-3333-4444-555555555555"

// TestX509ListMatchesEfitools compares with cert-to-efi-sig-list (efitools).
func TestX509ListMatchesEfitools(t *testing.T) {
	tool := peerTool(t, "cert-to-efi-sig-list", "efitools")
	dir := t.TempDir()
	owner, err := ParseGUID(testOwner)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []testcert.Kind{testcert.RSA2048, testcert.P256} {
		k := testcert.New(t, testcert.Template{Name: string(kind), Kind: kind, Dir: dir})
		esl := filepath.Join(dir, string(kind)+".esl")
		run(t, tool, "-g", testOwner, k.CertPath, esl)
		got, err := MarshalSignatureLists(X509List(owner, k.Cert.Raw))
		if err != nil {
			t.Fatal(err)
		}
		if want := read(t, esl); !bytes.Equal(got, want) {
			t.Errorf("%s: differs from cert-to-efi-sig-list:\n got % x\nwant % x", kind, got[:64], want[:64])
		}
	}
}

func TestSignatureListsRoundTrip(t *testing.T) {
	owner, _ := ParseGUID(testOwner)
	lists := []SignatureList{
		X509List(owner, []byte("not really a certificate")),
		SHA256List(EFI_GLOBAL_VARIABLE, [32]byte{1}, [32]byte{2}, [32]byte{3}),
		{Type: EFI_CERT_X509_GUID, Header: []byte{9, 9}, Signatures: []SignatureData{{Owner: owner}}},
	}
	b, err := MarshalSignatureLists(lists...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSignatureLists(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lists) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, lists)
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		l    SignatureList
	}{
		{"empty", SignatureList{Type: EFI_CERT_X509_GUID}},
		{"mixed sizes", SignatureList{Type: EFI_CERT_SHA256_GUID,
			Signatures: []SignatureData{{Data: make([]byte, 32)}, {Data: make([]byte, 31)}}}},
	}
	for _, tt := range tests {
		if _, err := MarshalSignatureLists(tt.l); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	good, err := MarshalSignatureLists(SHA256List(EFI_GLOBAL_VARIABLE, [32]byte{1}, [32]byte{2}))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"short header", good[:20]},
		{"truncated body", good[:len(good)-1]},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3)},
		{"size larger than data", mod(func(b []byte) []byte { le.PutUint32(b[16:], uint32(len(b)+1)); return b })},
		{"size smaller than header", mod(func(b []byte) []byte { le.PutUint32(b[16:], 10); return b })},
		{"header size too large", mod(func(b []byte) []byte { le.PutUint32(b[20:], 0xffffffff); return b })},
		{"entry size zero", mod(func(b []byte) []byte { le.PutUint32(b[24:], 0); return b })},
		{"entry size does not divide", mod(func(b []byte) []byte { le.PutUint32(b[24:], 47); return b })},
	}
	for _, tt := range tests {
		if _, err := ParseSignatureLists(tt.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", tt.name, err)
		}
	}
	if l, err := ParseSignatureLists(nil); err != nil || len(l) != 0 {
		t.Errorf("empty input: %v %v", l, err)
	}
}
