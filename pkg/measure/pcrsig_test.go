package measure

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

var sharedKey *rsa.PrivateKey

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	if sharedKey == nil {
		sharedKey = testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
	}
	return sharedKey
}

func TestSignKeyErrors(t *testing.T) {
	p := predictCase(t, image{uki.SectionLinux: []byte("k")}, []string{"sha256"}, []string{"enter-initrd"})
	k := rsaKey(t)
	other := testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
	ec := testcert.NewKey(t, testcert.P256).(*ecdsa.PrivateKey)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name string
		sign func() error
		err  error
		msg  string
	}{
		{"ecdsa key", func() error { _, err := Sign(ec, nil, p); return err }, ErrNotRSA, "PCR signing key is not an RSA key (got ECDSA)"},
		{"ed25519 key", func() error { _, err := Sign(ed, nil, p); return err }, ErrNotRSA, "PCR signing key is not an RSA key (got Ed25519)"},
		{"ecdsa public key", func() error { _, err := Sign(k, &ec.PublicKey, p); return err }, ErrNotRSA, "public key: PCR signing key is not an RSA key (got ECDSA)"},
		{"other public key", func() error { _, err := Sign(k, &other.PublicKey, p); return err }, ErrKeyMismatch, "public key does not match the private key"},
		{"nil key", func() error { _, err := Sign(nil, nil, p); return err }, ErrNotRSA, "PCR signing key is not an RSA key (got no key)"},
	}
	for _, tc := range cases {
		err := tc.sign()
		if !errors.Is(err, tc.err) || err.Error() != tc.msg {
			t.Errorf("%s: error %q, want %q", tc.name, err, tc.msg)
		}
	}
}

func TestSignReproducibleAndCombine(t *testing.T) {
	k := rsaKey(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	img := image{uki.SectionLinux: []byte("k"), uki.SectionCmdline: []byte("quiet")}
	initrd := predictCase(t, img, []string{"sha256", "sha1"}, []string{"enter-initrd"})
	booted := predictCase(t, img, []string{"sha256", "sha1"}, []string{"enter-initrd:leave-initrd:sysinit:ready"})

	a1, err := Sign(k, nil, initrd)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := Sign(k, &k.PublicKey, initrd)
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := a1.MarshalJSON()
	j2, _ := a2.MarshalJSON()
	if !bytes.Equal(j1, j2) {
		t.Fatal("signing twice gave different bytes")
	}
	b, err := Sign(other, nil, booted)
	if err != nil {
		t.Fatal(err)
	}
	// ukify: one systemd-measure run per key and phase group, merged with
	// duplicates dropped.
	c := Combine(a1, b, a2)
	if got := len(c.Entries(SHA256)); got != 2 {
		t.Errorf("%d sha256 entries, want 2", got)
	}
	if c.Banks[0].Bank != SHA1 || c.Banks[1].Bank != SHA256 {
		t.Errorf("bank order %v", parsedBanks(c))
	}
	for _, tc := range []struct {
		pub  *rsa.PublicKey
		pred *Prediction
	}{{&k.PublicKey, initrd}, {&other.PublicKey, booted}} {
		if err := c.Covers(tc.pred, tc.pub); err != nil {
			t.Error(err)
		}
		if n, err := c.Verify(tc.pub); err != nil || n != 2 {
			t.Errorf("Verify: %d, %v", n, err)
		}
	}
	if err := c.Covers(booted, &k.PublicKey); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Covers with the wrong key: %v", err)
	}
	// A flipped signature bit is caught.
	c.Banks[1].Entries[0].Signature[5] ^= 1
	if _, err := c.Verify(&k.PublicKey); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify of a bad signature: %v", err)
	}
}

func TestParsePCRSig(t *testing.T) {
	good := `{"sha256":[{"pcrs":[11],"pkfp":"00ff","pol":"aa","sig":"AQI="}],"sha1":[]}`
	s, err := ParsePCRSig([]byte(good + "\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := s.MarshalJSON(); string(out) != good {
		t.Errorf("round trip %s", out)
	}
	pretty := "{\n\t\"sha256\" : [\n\t\t{\n\t\t\t\"pcrs\" : [ 11 ],\n\t\t\t\"pkfp\" : \"00\",\n\t\t\t\"pol\" : \"01\",\n\t\t\t\"sig\" : \"AA==\"\n\t\t}\n\t]\n}\n"
	if _, err := ParsePCRSig([]byte(pretty)); err != nil {
		t.Errorf("pretty JSON: %v", err)
	}
	for _, tc := range []struct {
		in, msg string
	}{
		{``, "invalid PCR signature JSON: unexpected end of JSON (at byte 0)"},
		{`not json`, "invalid PCR signature JSON: invalid character 'o' in literal null (expecting 'u') (at byte 2)"},
		{`[]`, "invalid PCR signature JSON: top level is not a JSON object"},
		{`{"sha256":[{"pcrs":[11],"pkfp":"00","pol":"00"}]}`, `invalid PCR signature JSON: bank sha256 entry 0: missing one of "pcrs", "pkfp", "pol", "sig"`},
		{`{"md5":[]}`, `invalid PCR signature JSON: bank "md5": unknown PCR bank (want sha1, sha256, sha384 or sha512)`},
		{`{"sha256":[],"sha256":[]}`, "invalid PCR signature JSON: bank sha256 appears twice"},
		{`{"sha256":[{"pcrs":[24],"pkfp":"00","pol":"00","sig":""}]}`, "invalid PCR signature JSON: bank sha256 entry 0: PCR index 24 out of range 0..23"},
		{`{"sha256":[{"pcrs":[11],"pkfp":"zz","pol":"00","sig":""}]}`, `invalid PCR signature JSON: bank sha256 entry 0: "pkfp": encoding/hex: invalid byte: U+007A 'z'`},
		{`{"sha256":[{"pcrs":[11],"pkfp":"00","pol":"00","sig":"!"}]}`, `invalid PCR signature JSON: bank sha256 entry 0: "sig": illegal base64 data at input byte 0`},
		{`{"sha256":{}}`, "invalid PCR signature JSON: bank sha256: json: cannot unmarshal object into Go value of type []measure.rawEntry"},
		{`{"sha256":[]} {}`, "invalid PCR signature JSON: data after the JSON object"},
		{`{"sha256":[]`, "invalid PCR signature JSON: unexpected end of JSON (at byte 12)"},
	} {
		_, err := ParsePCRSig([]byte(tc.in))
		if !errors.Is(err, ErrInvalidPCRSig) || err.Error() != tc.msg {
			t.Errorf("ParsePCRSig(%q):\n got %q\nwant %q", tc.in, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error for %q", tc.in)
		}
	}
}
