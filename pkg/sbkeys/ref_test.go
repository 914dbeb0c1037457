package sbkeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{"pkcs11", "pkcs11:token=sb;object=PK?module-path=/m.so&pin-source=file:/run/pin\n", "pkcs11:token=sb;object=PK?module-path=/m.so&pin-source=file:/run/pin", ""},
		{"tpm", " tpm:handle=0x81000001 \n", "tpm:handle=0x81000001", ""},
		{"empty", " \n", "", "empty"},
		{"two lines", "tpm:handle=0x81000001\ntpm:handle=0x81000002\n", "", "more than one line"},
		{"key file", "/var/lib/sbctl/keys/PK/PK.key", "", "neither a pkcs11: URI nor a tpm: reference"},
		{"relative blob", "tpm:blob=db.tpmkey", "", `blob "db.tpmkey" is relative`},
		{"relative device", "tpm:handle=0x81000001?device=tpmrm0", "", `device "tpmrm0" is relative`},
		{"relative pin file", "pkcs11:token=sb;object=PK?pin-source=file:pin", "", `pin-source "pin" is relative`},
		{"pin value", "pkcs11:token=sb;object=PK?pin-value=1234", "", "pin-value in a PKCS#11 URI is refused"},
		{"bad tpm", "tpm:handle=1", "", "not a persistent handle"},
		{"bad pkcs11", "pkcs11:token=sb;token=x", "", "malformed key reference"},
		{"too long", "tpm:blob=/" + strings.Repeat("a", maxRefFile), "", "more than 8192 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRef([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestCreateExisting: a role given an existing key gets a .ref file and a
// certificate signed by that key, no .key file; the others get key files.
// (The keys here are in memory; the testscripts keys_pkcs11.txtar and
// keys_tpm.txtar do the same through SoftHSM2 and swtpm.)
func TestCreateExisting(t *testing.T) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ref := "tpm:blob=/nonexistent/PK.tpmkey?swtpm=/nonexistent/sock"
	dir := t.TempDir()
	set, err := Create(dir, CreateOptions{Bits: 2048, Existing: map[Role]ExistingKey{PK: {Ref: ref, Key: pk}}})
	if err != nil {
		t.Fatal(err)
	}
	if !set.PK.Cert.PublicKey.(*rsa.PublicKey).Equal(&pk.PublicKey) {
		t.Error("PK certificate is not for the given key")
	}
	if err := set.PK.Cert.CheckSignature(set.PK.Cert.SignatureAlgorithm, set.PK.Cert.RawTBSCertificate, set.PK.Cert.Signature); err != nil {
		t.Errorf("PK not self-signed: %v", err)
	}
	if b, err := os.ReadFile(RefPath(dir, PK)); err != nil || string(b) != ref+"\n" {
		t.Errorf("PK.ref %q, %v", b, err)
	}
	if _, err := os.Stat(KeyPath(dir, PK)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PK.key written: %v", err)
	}
	for _, r := range []Role{KEK, DB} {
		if _, err := os.Stat(KeyPath(dir, r)); err != nil {
			t.Errorf("%s key file: %v", r, err)
		}
	}
	// Loading opens the reference: here it names no TPM, which fails
	// with the role named.
	if _, _, err := Load(context.Background(), dir, signer.Options{}); err == nil || !strings.HasPrefix(err.Error(), "PK: ") {
		t.Errorf("Load with an unreachable TPM: %v", err)
	}
	// The certificates load without the keys.
	if certs, err := LoadCertificates(dir); err != nil || !certs.PK.Cert.Equal(set.PK.Cert) {
		t.Errorf("LoadCertificates: %v", err)
	}
	// A second create refuses the .ref file too.
	os.Remove(KeyPath(dir, KEK))
	os.Remove(CertPath(dir, KEK))
	os.Remove(KeyPath(dir, DB))
	os.Remove(CertPath(dir, DB))
	os.Remove(CertPath(dir, PK))
	os.Remove(GUIDPath(dir))
	if _, err := Create(dir, CreateOptions{Bits: 2048}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "PK.ref") {
		t.Errorf("create over a .ref: %v", err)
	}
}

func TestCreateExistingRefused(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name string
		e    ExistingKey
		err  string
	}{
		{"ec", ExistingKey{Ref: "tpm:handle=0x81000001", Key: ec}, "not an RSA 2048 or 4096 key"},
		{"rsa1024", ExistingKey{Ref: "tpm:handle=0x81000001", Key: small}, "RSA 1024"},
		{"file", ExistingKey{Ref: "/keys/PK.key", Key: rsaKey}, "neither a pkcs11: URI"},
		{"not open", ExistingKey{Ref: "tpm:handle=0x81000001"}, "is not open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sb")
			_, err := Create(dir, CreateOptions{Bits: 2048, Existing: map[Role]ExistingKey{KEK: tc.e}})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("refused create left %s behind", dir)
			}
		})
	}
}

// TestLoadBothKeyAndRef: a role with both NAME.key and NAME.ref is
// ambiguous and refused.
func TestLoadBothKeyAndRef(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, CreateOptions{Bits: 2048}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(RefPath(dir, DB), []byte("tpm:handle=0x81000001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(context.Background(), dir, signer.Options{}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("got %v", err)
	}
	os.WriteFile(RefPath(dir, DB), []byte("db.key\n"), 0o644)
	if _, _, err := Load(context.Background(), dir, signer.Options{}); err == nil || !strings.Contains(err.Error(), "db.ref") {
		t.Errorf("got %v", err)
	}
}

// TestRefKey: a RefKey opens its key for each signature and refuses to
// sign when the reference no longer names the key it read first. A key
// file stands in for the token here (pkg/signer opens both the same way);
// the testscripts use SoftHSM2 and swtpm.
func TestRefKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.pem")
	writeKey := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return k
	}
	first := writeKey()
	k, err := OpenRef(context.Background(), path, signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.PublicKey.Equal(k.Public()) || k.Description() != path {
		t.Fatalf("public key or description wrong: %q", k.Description())
	}
	digest := sha256.Sum256([]byte("payload"))
	sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&first.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Error(err)
	}
	writeKey()
	if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "key changed") {
		t.Errorf("another key behind the reference: %v", err)
	}
	os.Remove(path)
	if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
		t.Error("signed with the key gone")
	}
}
