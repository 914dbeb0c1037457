//go:build vm

package vm

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/softhsm"
	"github.com/nix-boot-security/nix-boot-security/pkg/ca"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 13: an organisation CA whose key never leaves a PKCS#11 token
// (SoftHSM2) is the only certificate in db. A machine sub-CA and a machine
// certificate issued by "nix-uki keys ca", a UKI built and signed through
// the token's pkcs11: URI by "nix-uki build": OVMF with Secure Boot
// enforced boots it, because the signature carries the sub-CA. The same
// image with the machine certificate alone (no intermediate) is refused,
// and so is one signed by a machine certificate of another CA. KEK's
// signature on the db write is made on the token too, through pkg/signer.

const orgCAMarker = "NBS-ORGCA-BOOTED"

func TestOrgCAOnTokenSecureBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "osslsigncode", "sbverify", initrd.DefaultBusybox)
	harness.NeedVMTools(t, harness.FirmwareSetupMode)
	tok := softhsm.New(t, "org", "1234")
	for _, k := range []struct{ label, id string }{{"ca", "01"}, {"rack", "02"}, {"host", "03"}, {"kek", "04"}} {
		tok.GenerateKey(t, "rsa:2048", k.label, k.id)
	}
	nixUKI := nixUKI(t)
	dir := t.TempDir()
	vmlinuz, modules := kernel(t)
	ctx := context.Background()
	at := func(name string) string { return filepath.Join(dir, name) }

	// The CA on the token; a sub-CA for a group of machines; a machine.
	runTool(t, nixUKI, "keys", "ca", "create", "--key", tok.URI("ca"), "--common-name", "nbs organisation CA (token)",
		"--not-before", "2025-01-01", "--output", at("ca.pem"))
	runTool(t, nixUKI, "keys", "ca", "issue", "--ca-cert", at("ca.pem"), "--ca-key", tok.URI("ca"), "--key", tok.URI("rack"),
		"--sub-ca", "--common-name", "nbs rack 7", "--not-before", "2025-01-01", "--output", at("rack.pem"))
	runTool(t, nixUKI, "keys", "ca", "issue", "--ca-cert", at("rack.pem"), "--ca-key", tok.URI("rack"), "--key", tok.URI("host"),
		"--common-name", "nbs host1", "--not-before", "2025-01-01", "--output", at("host.pem"))
	caCerts, err := keys.LoadCertificates(at("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	hostChain, err := keys.LoadCertificates(at("host.pem"))
	if err != nil || len(hostChain) != 2 {
		t.Fatalf("host.pem: %d certificates, %v", len(hostChain), err)
	}
	leafOnly := at("host-leaf-only.pem")
	if err := os.WriteFile(leafOnly, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hostChain[0].Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	// Another organisation's CA and machine (files): not in db.
	other := ownKeys{t: t, dir: dir}
	otherCA := other.selfSigned("rsa2048", "nbs another CA", true)
	otherHost := other.issued(otherCA, "rsa2048", "nbs host of another CA", false)

	// PK self-signed (file); KEK's key on the token, its certificate made
	// by pkg/ca, so the authenticated db write is signed through the seam.
	pk := other.selfSigned("rsa2048", "nbs test PK", true)
	kekKey, err := signer.Open(ctx, tok.URI("kek"), signer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kekCert, err := ca.CreateCA(kekKey, pkix.Name{CommonName: "nbs test KEK (token)"},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := efivar.ParseGUID("6e62732d-6f72-6763-612d-746f6b656e00")
	if err != nil {
		t.Fatal(err)
	}
	writes, err := harness.OwnerKeyWrites(harness.OwnerKeys{
		PK:    pairOf(pk),
		KEK:   harness.KeyPair{Key: kekKey, Cert: kekCert},
		DB:    []*x509.Certificate{caCerts[0]},
		Owner: owner,
	}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	kekKey.Close()
	if err != nil {
		t.Fatal(err)
	}
	vars := at("OVMF_VARS_org_ca.fd")
	start := time.Now()
	res, err := harness.Enroll(ctx, harness.EnrollBoot{
		Stub: stub, Linux: vmlinuz, ModulesDir: modules, VarsFile: vars, Timeout: 5 * time.Minute,
	}, writes)
	if err != nil {
		t.Fatalf("enrolling db = [organisation CA]: %v", err)
	}
	t.Logf("enrolled db = [organisation CA], KEK (token), PK in %s; SecureBoot=%d SetupMode=%d after the writes",
		time.Since(start).Round(100*time.Millisecond), res.SecureBoot, res.SetupMode)

	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"efivarfs"},
		Marker:     orgCAMarker,
		Run:        []string{"/bin/efivars"},
		Files:      []initrd.File{{Name: "bin/efivars", Data: []byte(harness.EfivarsScript), Perm: 0o755}},
	})
	buildArgs := []string{"build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
		"--cmdline", cmdline, "--os-release", "@" + osRelease(t, dir)}
	signed := at("signed.efi")
	runTool(t, nixUKI, append(buildArgs, "--secureboot-private-key", tok.URI("host"), "--secureboot-certificate", at("host.pem"), "--output", signed)...)
	runTool(t, "osslsigncode", "verify", "-CAfile", at("ca.pem"), "-in", signed)
	runTool(t, "sbverify", "--cert", at("ca.pem"), signed)
	noChain := at("no-intermediate.efi")
	runTool(t, nixUKI, append(buildArgs, "--secureboot-private-key", tok.URI("host"), "--secureboot-certificate", leafOnly, "--output", noChain)...)
	otherSigned := at("other-ca.efi")
	runTool(t, nixUKI, append(buildArgs, "--secureboot-private-key", otherHost.KeyPath, "--secureboot-certificate", otherHost.CertPath, "--output", otherSigned)...)

	cases := []struct {
		name  string
		image string
		boots bool
	}{
		{"machine cert and sub-CA from the token boots", signed, true},
		{"machine cert without its sub-CA refused", noChain, false},
		{"machine of another CA refused", otherSigned, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bootOwnKeys(t, vars, c.image, orgCAMarker, c.boots, 5*time.Minute)
		})
	}
}
