package efivar

import (
	"bytes"
	"encoding/asn1"
	"path/filepath"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const testTimeEfitools = "2025-01-02 03:04:05"

// TestSignMatchesEfitools compares whole authenticated writes with
// sign-efi-sig-list's for the same timestamp and RSA key (PKCS#1 v1.5 is
// deterministic, so the bytes must be identical).
func TestSignMatchesEfitools(t *testing.T) {
	tool := peerTool(t, "sign-efi-sig-list", "efitools")
	dir := t.TempDir()
	owner, _ := ParseGUID(testOwner)
	for _, kind := range []testcert.Kind{testcert.RSA2048, testcert.RSA4096} {
		k := testcert.New(t, testcert.Template{Name: string(kind), Kind: kind, Dir: dir})
		data, err := MarshalSignatureLists(X509List(owner, k.Cert.Raw))
		if err != nil {
			t.Fatal(err)
		}
		esl := filepath.Join(dir, string(kind)+".esl")
		write(t, esl, data)
		for _, v := range []Variable{PK, KEK, DB, DBX} {
			out := filepath.Join(dir, string(kind)+"-"+v.Name+".auth")
			run(t, tool, "-t", testTimeEfitools, "-k", k.KeyPath, "-c", k.CertPath, v.Name, esl, out)
			got, err := Sign(v, data, testTime, k.Key, k.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if want := read(t, out); !bytes.Equal(got, want) {
				t.Errorf("%s %s: differs from sign-efi-sig-list (%d and %d bytes)", kind, v.Name, len(got), len(want))
			}
			again, _ := Sign(v, data, testTime, k.Key, k.Cert)
			if !bytes.Equal(got, again) {
				t.Errorf("%s %s: two signatures differ", kind, v.Name)
			}

			tbs := filepath.Join(dir, string(kind)+"-"+v.Name+".tbs")
			run(t, tool, "-o", "-t", testTimeEfitools, v.Name, esl, tbs)
			payload, err := SignedPayload(v, testTime, data)
			if err != nil {
				t.Fatal(err)
			}
			if want := read(t, tbs); !bytes.Equal(payload, want) {
				t.Errorf("%s: signed payload differs from sign-efi-sig-list -o", v.Name)
			}
		}
	}
}

// TestSignECDSAVerifiedByOpenSSL checks an ECDSA P-256 signature (not
// deterministic, so not comparable byte for byte) with openssl smime.
func TestSignECDSAVerifiedByOpenSSL(t *testing.T) {
	openssl := peerTool(t, "openssl", "openssl")
	dir := t.TempDir()
	k := testcert.New(t, testcert.Template{Name: "p256", Kind: testcert.P256})
	data := []byte("any data")
	auth, err := Sign(DB, data, testTime, k.Key, k.Cert)
	if err != nil {
		t.Fatal(err)
	}
	length := int(le.Uint32(auth[efiTimeSize:]))
	sd := auth[efiTimeSize+winCertUEFIGUIDHeaderSz : efiTimeSize+length]
	if !bytes.Equal(auth[efiTimeSize+length:], data) {
		t.Fatal("data does not follow the authentication header")
	}
	// openssl wants the ContentInfo that EDK2 does without.
	wrapped, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := SignedPayload(DB, testTime, data)
	p7, content := filepath.Join(dir, "sig.p7"), filepath.Join(dir, "payload")
	write(t, p7, wrapped)
	write(t, content, payload)
	run(t, openssl, "smime", "-verify", "-binary", "-inform", "DER", "-in", p7, "-content", content,
		"-CAfile", k.CertPath, "-purpose", "any", "-out", "/dev/null")
	// A changed payload must fail.
	payload[len(payload)-1] ^= 1
	write(t, content, payload)
	if out, err := runErr(openssl, "smime", "-verify", "-binary", "-inform", "DER", "-in", p7, "-content", content,
		"-CAfile", k.CertPath, "-purpose", "any", "-out", "/dev/null"); err == nil {
		t.Errorf("openssl accepted a changed payload:\n%s", out)
	}
}

func TestSignErrors(t *testing.T) {
	k := testcert.New(t, testcert.Template{Name: "k"})
	if _, err := Sign(DB, nil, testTime, k.Key); err == nil {
		t.Error("no certificate: no error")
	}
	if _, err := Sign(DB, nil, time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC), k.Key, k.Cert); err == nil {
		t.Error("year 1800: no error")
	}
}

func TestEfivarfsContent(t *testing.T) {
	got := DB.EfivarfsContent([]byte{0xaa})
	want := []byte{0x27, 0, 0, 0, 0xaa}
	if !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}
