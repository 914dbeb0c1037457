//go:build vm

package vm

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/initrd"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// Issue 3: which Authenticode signatures by `nix-uki sign` does OVMF
// (Debian 12's ovmf, edk2 2022.11) accept once the machine's owner has
// enrolled their own keys? PK, KEK and db are generated here, enrolled by
// booting the firmware in setup mode (harness.Enroll), and UKIs signed with
// each kind of key are booted with Secure Boot enforced. The firmware's
// answers are asserted, so that a change in the firmware shows up as a
// failure (see the table in README.md).

const ownKeyMarker = "NBS-OWNKEYS-BOOTED"

func TestOwnKeysSecureBoot(t *testing.T) {
	harness.NeedTools(t, stub, "go", "objcopy", "osslsigncode", initrd.DefaultBusybox)
	harness.NeedVMTools(t, harness.FirmwareSetupMode)
	nixUKI := nixUKI(t)
	dir := t.TempDir()
	vmlinuz, modules := kernel(t)
	ctx := context.Background()

	// The keys. Certificates are valid from 2020 to 2099: the firmware has
	// no trusted clock and does not check validity periods.
	k := ownKeys{t: t, dir: dir}
	pk := k.selfSigned("rsa2048", "nbs test PK", true)
	kek := k.selfSigned("rsa2048", "nbs test KEK", true)
	rsa2048 := k.selfSigned("rsa2048", "nbs db RSA 2048", false)
	rsa4096 := k.selfSigned("rsa4096", "nbs db RSA 4096", false)
	p256 := k.selfSigned("p256", "nbs db ECDSA P-256", false)
	orgCA := k.selfSigned("rsa2048", "nbs organisation CA", true)
	machine := k.issued(orgCA, "rsa2048", "nbs machine (org CA)", false)
	machineP256 := k.issued(orgCA, "p256", "nbs machine ECDSA P-256 (org CA)", false)
	rootCA := k.selfSigned("rsa4096", "nbs root CA", true)
	interCA := k.issued(rootCA, "rsa2048", "nbs intermediate CA", true)
	leaf := k.issued(interCA, "rsa2048", "nbs machine (intermediate CA)", false)
	notInDB := k.selfSigned("rsa2048", "nbs not in db", false)

	// Enroll: db holds the RSA certificates and both CAs. A second boot at
	// the same time, on a scratch store in setup mode, tries to set db to
	// the ECDSA P-256 certificate alone: whether the firmware takes an
	// ECDSA certificate into db is a finding, not a precondition.
	owner, err := efivar.ParseGUID("6e62732d-7465-7374-2d6f-776e65726b65")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	writes, err := harness.OwnerKeyWrites(harness.OwnerKeys{
		PK:    pairOf(pk),
		KEK:   pairOf(kek),
		DB:    []*x509.Certificate{rsa2048.Cert, rsa4096.Cert, orgCA.Cert, rootCA.Cert},
		Owner: owner,
	}, ts)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := harness.CertWrite("db = ECDSA P-256 cert", efivar.DB, pairOf(kek), owner, ts, p256.Cert)
	if err != nil {
		t.Fatal(err)
	}
	probe.Optional = true
	enroll := func(vars string, writes ...harness.VarWrite) (harness.EnrollResult, error) {
		return harness.Enroll(ctx, harness.EnrollBoot{
			Stub: stub, Linux: vmlinuz, ModulesDir: modules, VarsFile: vars, Timeout: bootTimeout,
		}, writes)
	}
	type outcome struct {
		res harness.EnrollResult
		err error
	}
	probeDone := make(chan outcome, 1)
	go func() {
		res, err := enroll(filepath.Join(dir, "OVMF_VARS_probe.fd"), probe)
		probeDone <- outcome{res, err}
	}()
	vars := filepath.Join(dir, "OVMF_VARS_own_keys.fd")
	start := time.Now()
	res, err := enroll(vars, writes...)
	p := <-probeDone
	if err != nil {
		t.Fatalf("enrolling keys: %v", err)
	}
	if testing.Verbose() {
		t.Logf("enrollment console:\n%s", res.Console)
	}
	t.Logf("enrolled db, KEK, PK in %s; SecureBoot=%d SetupMode=%d after the writes",
		time.Since(start).Round(100*time.Millisecond), res.SecureBoot, res.SetupMode)
	if p.err != nil {
		t.Fatalf("ECDSA db probe: %v", p.err)
	}
	// Finding: EDK2 checks that each X.509 entry written to db, KEK or PK
	// carries an RSA key, and refuses the write with EFI_INVALID_PARAMETER
	// (EINVAL through efivarfs) otherwise.
	if why, refused := p.res.Refused[probe.Label]; !refused {
		t.Errorf("firmware accepted an ECDSA P-256 certificate into db: update README.md's table")
	} else if !strings.Contains(why, "Invalid argument") {
		t.Errorf("ECDSA db write refused with %q, want EINVAL (Invalid argument) from the firmware", why)
	} else {
		t.Logf("firmware refused db = [ECDSA P-256 certificate]: %s (SetupMode=%d)", why, p.res.SetupMode)
	}

	// One unsigned UKI whose initrd prints the marker and the Secure Boot
	// variables; signed copies of it.
	ird := buildInitrd(t, dir, initrd.Spec{
		ModulesDir: modules,
		Modules:    []string{"efivarfs"},
		Marker:     ownKeyMarker,
		Run:        []string{"/bin/efivars"},
		Files:      []initrd.File{{Name: "bin/efivars", Data: []byte(harness.EfivarsScript), Perm: 0o755}},
	})
	unsigned := filepath.Join(dir, "unsigned.efi")
	runTool(t, nixUKI, "build", "--stub", stub, "--linux", vmlinuz, "--initrd", ird,
		"--cmdline", cmdline, "--os-release", "@"+osRelease(t, dir), "--output", unsigned)
	// sign signs a copy of the unsigned image with key, embedding chain
	// after its certificate, and has osslsigncode check the result against
	// anchor, so that a refusal by the firmware cannot be a bad signature.
	sign := func(name string, anchor, key *testcert.Identity, chain ...*testcert.Identity) string {
		certs := key.CertPath
		if len(chain) > 0 {
			certs = filepath.Join(dir, name+".chain.pem")
			var pemData []byte
			for _, c := range append([]*testcert.Identity{key}, chain...) {
				pemData = append(pemData, testcert.CertPEM(c.Cert)...)
			}
			if err := os.WriteFile(certs, pemData, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(dir, name+".efi")
		runTool(t, nixUKI, "sign", "--key", key.KeyPath, "--cert", certs, unsigned, "--output", out)
		runTool(t, "osslsigncode", "verify", "-CAfile", anchor.CertPath, "-in", out)
		return out
	}

	cases := []struct {
		name  string
		image string
		boots bool
	}{
		{"unsigned refused", unsigned, false},
		{"RSA 2048 cert in db boots", sign("rsa2048", rsa2048, rsa2048), true},
		{"RSA 4096 cert in db boots", sign("rsa4096", rsa4096, rsa4096), true},
		{"ECDSA P-256 leaf of RSA CA in db refused", sign("p256-leaf", orgCA, machineP256), false},
		{"RSA leaf of CA in db boots", sign("org-leaf", orgCA, machine), true},
		{"RSA leaf and intermediate of root CA in db boots", sign("chain", rootCA, leaf, interCA), true},
		{"RSA 2048 not in db refused", sign("not-in-db", notInDB, notInDB), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bootOwnKeys(t, vars, c.image, ownKeyMarker, c.boots, bootTimeout)
		})
	}
}

func pairOf(k *testcert.Identity) harness.KeyPair { return harness.KeyPair{Key: k.Key, Cert: k.Cert} }

// ownKeys makes the test's keys and certificates in one directory.
type ownKeys struct {
	t   *testing.T
	dir string
}

func (f ownKeys) selfSigned(kind testcert.Kind, cn string, ca bool) *testcert.Identity {
	return f.issued(nil, kind, cn, ca)
}

func (f ownKeys) issued(issuer *testcert.Identity, kind testcert.Kind, cn string, ca bool) *testcert.Identity {
	f.t.Helper()
	return testcert.New(f.t, testcert.Template{Name: cn, Kind: kind, Issuer: issuer, CA: ca, Dir: f.dir,
		Organization: []string{"nix-boot-security tests"}})
}
