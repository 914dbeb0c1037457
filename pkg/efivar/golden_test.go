package efivar

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// testdata/golden/recipe.sh gave efitools testOwner and testTime (see
// auth_test.go), and for hash-to-efi-sig-list, which has an owner GUID of
// its own, pkg/authenticode/testdata/golden/tiny.efi, whose Authenticode
// SHA-256 is tinyDigest.
const (
	efitoolsOwner = "605dab50-e046-4300-abb6-3dd810dd8b23"
	tinyDigest    = "e359e704896cbace99f01f8121b136c9c64cd896d1aefb43e8c43e39e0f0ccbb"
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/golden/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemDER(t *testing.T, name string) []byte {
	t.Helper()
	block, _ := pem.Decode(golden(t, name))
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return block.Bytes
}

// TestGoldenEfitools compares our signature lists and authenticated write
// with the bytes efitools wrote for the same inputs, so the formats are
// checked byte for byte on a machine without efitools.
func TestGoldenEfitools(t *testing.T) {
	cert, err := x509.ParseCertificate(pemDER(t, "db.crt"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(pemDER(t, "db.key"))
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := ParseGUID(testOwner)
	esl, err := MarshalSignatureLists(X509List(owner, cert.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := golden(t, "db.esl"); !bytes.Equal(esl, want) {
		t.Errorf("db.esl differs from cert-to-efi-sig-list's")
	}
	auth, err := Sign(DB, esl, testTime, k.(crypto.Signer), cert)
	if err != nil {
		t.Fatal(err)
	}
	if want := golden(t, "db.auth"); !bytes.Equal(auth, want) {
		t.Errorf("db.auth differs from sign-efi-sig-list's (%d and %d bytes)", len(auth), len(want))
	}

	hashOwner, _ := ParseGUID(efitoolsOwner)
	var digest [32]byte
	if _, err := hex.Decode(digest[:], []byte(tinyDigest)); err != nil {
		t.Fatal(err)
	}
	hashESL, err := MarshalSignatureLists(SHA256List(hashOwner, digest))
	if err != nil {
		t.Fatal(err)
	}
	if want := golden(t, "hash.esl"); !bytes.Equal(hashESL, want) {
		t.Errorf("hash.esl differs from hash-to-efi-sig-list's:\n got % x\nwant % x", hashESL, want)
	}

	// And the reader takes back what efitools wrote.
	for name, l := range map[string]SignatureList{"db.esl": X509List(owner, cert.Raw), "hash.esl": SHA256List(hashOwner, digest)} {
		got, err := ParseSignatureLists(golden(t, name))
		if err != nil || !reflect.DeepEqual(got, []SignatureList{l}) {
			t.Errorf("%s: parsed %+v, %v", name, got, err)
		}
	}
}

// The golden files are still what efitools writes for their inputs.
func TestGoldenStillEfitools(t *testing.T) {
	certTool := peerTool(t, "cert-to-efi-sig-list", "efitools")
	signTool := peerTool(t, "sign-efi-sig-list", "efitools")
	dir := t.TempDir()
	esl, auth := filepath.Join(dir, "db.esl"), filepath.Join(dir, "db.auth")
	run(t, certTool, "-g", testOwner, "testdata/golden/db.crt", esl)
	run(t, signTool, "-t", testTimeEfitools, "-k", "testdata/golden/db.key", "-c", "testdata/golden/db.crt", "db", esl, auth)
	for name, path := range map[string]string{"db.esl": esl, "db.auth": auth} {
		if !bytes.Equal(read(t, path), golden(t, name)) {
			t.Errorf("%s: efitools now writes other bytes; run testdata/golden/recipe.sh", name)
		}
	}
}
