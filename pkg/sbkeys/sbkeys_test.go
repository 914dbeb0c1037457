package sbkeys

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

func TestCreateLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sb")
	owner, _ := efivar.ParseGUID("6e62732d-7465-7374-2d6f-776e65726b65")
	set, err := Create(dir, CreateOptions{Bits: 2048, Name: "test", Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if set.Owner != owner {
		t.Errorf("owner %s", set.Owner)
	}
	got, warnings, err := Load(context.Background(), dir, signer.Options{})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Load: %v %v", err, warnings)
	}
	for _, r := range Roles {
		p := got.Pair(r)
		if !bytes.Equal(p.Cert.Raw, set.Pair(r).Cert.Raw) {
			t.Errorf("%s: other certificate read back", r)
		}
		if k := p.Key.(*rsa.PrivateKey); k.N.BitLen() != 2048 {
			t.Errorf("%s: %d bits", r, k.N.BitLen())
		}
		if err := p.Cert.CheckSignature(p.Cert.SignatureAlgorithm, p.Cert.RawTBSCertificate, p.Cert.Signature); err != nil {
			t.Errorf("%s: not self-signed: %v", r, err)
		}
		if fi, _ := os.Stat(KeyPath(dir, r)); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s key mode %v", r, fi.Mode())
		}
	}
	if want := "test Platform Key"; got.PK.Cert.Subject.CommonName != want {
		t.Errorf("PK subject %q", got.PK.Cert.Subject.CommonName)
	}
	if eku := got.DB.Cert.ExtKeyUsage; len(eku) != 1 || eku[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("db EKU %v", eku)
	}
	if b, _ := os.ReadFile(GUIDPath(dir)); string(b) != owner.String() {
		t.Errorf("GUID file %q", b)
	}
	if _, err := Create(dir, CreateOptions{Bits: 2048}); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v", err)
	}
	certsOnly, err := LoadCertificates(dir)
	if err != nil || certsOnly.PK.Key != nil || !certsOnly.DB.Cert.Equal(set.DB.Cert) {
		t.Errorf("LoadCertificates: %v", err)
	}
}

func TestCreateOptionsRefused(t *testing.T) {
	if _, err := Create(t.TempDir(), CreateOptions{Bits: 3072}); err == nil {
		t.Error("3072 bits accepted")
	}
}

func TestRandomOwner(t *testing.T) {
	dir := t.TempDir()
	set, err := Create(dir, CreateOptions{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s := set.Owner.String()
	if s[14] != '4' || !strings.ContainsAny(s[19:20], "89ab") {
		t.Errorf("not a version 4 GUID: %s", s)
	}
}

func TestLoadRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, CreateOptions{Bits: 2048, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// A certificate that does not match its key.
	mismatch := t.TempDir()
	copyTree(t, dir, mismatch)
	pk, _ := os.ReadFile(CertPath(dir, PK))
	if err := os.WriteFile(CertPath(mismatch, KEK), pk, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(context.Background(), mismatch, signer.Options{}); err == nil || !strings.Contains(err.Error(), "does not hold the key") {
		t.Errorf("mismatched KEK: %v", err)
	}
	badGUID := t.TempDir()
	copyTree(t, dir, badGUID)
	os.WriteFile(GUIDPath(badGUID), []byte("not-a-guid\n"), 0o644)
	if _, _, err := Load(context.Background(), badGUID, signer.Options{}); err == nil {
		t.Error("bad GUID accepted")
	}
	// A hand-written GUID file with a newline is fine.
	os.WriteFile(GUIDPath(badGUID), []byte("6e62732d-7465-7374-2d6f-776e65726b65\n"), 0o644)
	if _, _, err := Load(context.Background(), badGUID, signer.Options{}); err != nil {
		t.Error(err)
	}
	if _, _, err := Load(context.Background(), t.TempDir(), signer.Options{}); err == nil {
		t.Error("empty directory accepted")
	}
}

// TestSbctlLayout checks our layout against the one sbctl's own tools
// read: the peer here is sbsign/sbverify from Debian's sbsigntool, which
// sbctl drives, signing with the db key and verifying with the db
// certificate at the paths sbctl uses.
func TestSbctlLayout(t *testing.T) {
	sbsign, sbverify := peer.Tool(t, "sbsign"), peer.Tool(t, "sbverify")
	stub := peer.File(t, "/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
	dir := t.TempDir()
	if _, err := Create(dir, CreateOptions{Bits: 2048}); err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "stub.efi"), filepath.Join(dir, "signed.efi")
	os.WriteFile(in, stub, 0o644)
	for _, c := range [][]string{
		{sbsign, "--key", filepath.Join(dir, "keys/db/db.key"), "--cert", filepath.Join(dir, "keys/db/db.pem"), "--output", out, in},
		{sbverify, "--cert", filepath.Join(dir, "keys/db/db.pem"), out},
	} {
		if b, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, b)
		}
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(to, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
