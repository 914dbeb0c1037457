package authenticode

import (
	"crypto"
	"crypto/x509"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

// Regression (issue 8): an expired intermediate gave exit 1 while sbverify
// and firmware accept it, and the leaf's dates were handled differently.
// One rule for the whole chain, the firmware's: dates are not checked.
// Each case is also put to sbverify, the peer that agrees with firmware.
func TestValidityNotEnforced(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	stub := peer.File(t, debianStub)
	dir := t.TempDir()
	past := func(tmpl testcert.Template) testcert.Template {
		tmpl.NotBefore, tmpl.NotAfter = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2002, 1, 1, 0, 0, 0, 0, time.UTC)
		return tmpl
	}
	future := func(tmpl testcert.Template) testcert.Template {
		tmpl.NotBefore, tmpl.NotAfter = time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2095, 1, 1, 0, 0, 0, 0, time.UTC)
		return tmpl
	}
	same := func(tmpl testcert.Template) testcert.Template { return tmpl }
	rootKey, interKey, leafKey := testcert.NewKey(t, ""), testcert.NewKey(t, ""), testcert.NewKey(t, "")
	tests := []struct {
		name                string
		root, inter, leaf   func(testcert.Template) testcert.Template
		trustInter, noInter bool
	}{
		{"expired intermediate", same, past, same, false, false},
		{"expired leaf", same, same, past, false, false},
		{"expired root", past, same, same, false, false},
		{"everything expired", past, past, past, false, false},
		{"leaf not yet valid", same, same, future, false, false},
		{"expired leaf under a CA", same, nil, past, false, true},
		{"expired intermediate trusted itself", same, past, same, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := testcert.New(t, tc.root(testcert.Template{Name: "root", CA: true, Key: rootKey, Dir: dir}))
			var signer *Signer
			anchor := root
			if tc.noInter {
				leaf := testcert.New(t, tc.leaf(testcert.Template{Name: "leaf", Issuer: root, Key: leafKey, Dir: dir}))
				signer = signerOf(leaf)
			} else {
				inter := testcert.New(t, tc.inter(testcert.Template{Name: "inter", CA: true, Issuer: root, Key: interKey, Dir: dir}))
				leaf := testcert.New(t, tc.leaf(testcert.Template{Name: "leaf", Issuer: inter, Key: leafKey, Dir: dir}))
				signer = signerOf(leaf, inter)
				if tc.trustInter {
					anchor = inter
				}
			}
			signed := signBytes(t, stub, signer, false)
			v, err := VerifyImage(parse(t, signed), []*x509.Certificate{anchor.Cert}, Options{})
			if err != nil {
				t.Errorf("our verify: %v", err)
			} else if last := v.Chain[len(v.Chain)-1]; last != anchor.Cert {
				t.Errorf("chain ends at %s, want %s", last.Subject, anchor.Cert.Subject)
			}
			path := writeTemp(t, dir, "signed.efi", signed)
			if out, err := exec.Command(sbverify, "--cert", anchor.CertPath, path).CombinedOutput(); err != nil {
				t.Errorf("sbverify refuses what we accept: %v\n%s", err, out)
			}
		})
	}
}

// The chain's other rules still hold without dates. osslsigncode is the
// peer here: sbverify accepts a chain whose top certificate's issuer is
// missing, whatever --cert says (its verify callback forgives
// X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT), where firmware refuses it.
func TestTrustChainRefuses(t *testing.T) {
	osslsigncode := peer.Tool(t, "osslsigncode")
	stub := peer.File(t, debianStub)
	dir := t.TempDir()
	root := testcert.New(t, testcert.Template{Name: "root", CA: true, Kind: testcert.P256, Dir: dir})
	other := testcert.New(t, testcert.Template{Name: "other root", CA: true, Kind: testcert.P256, Dir: dir})
	notCA := testcert.New(t, testcert.Template{Name: "not a CA", Issuer: root, Kind: testcert.P256, Dir: dir})
	noCertSign := testcert.New(t, testcert.Template{Name: "CA without keyCertSign", CA: true, KeyUsage: x509.KeyUsageDigitalSignature, Issuer: root, Kind: testcert.P256, Dir: dir})
	inter := testcert.New(t, testcert.Template{Name: "inter", CA: true, Issuer: root, Kind: testcert.P256, Dir: dir})
	tests := []struct {
		name   string
		signer *Signer
		anchor *testcert.Identity
	}{
		{"another root", signerOf(testcert.New(t, testcert.Template{Name: "leaf", Issuer: inter, Kind: testcert.P256, Dir: dir}), inter), other},
		{"intermediate missing", signerOf(testcert.New(t, testcert.Template{Name: "leaf", Issuer: inter, Kind: testcert.P256, Dir: dir})), root},
		{"issuer not a CA", signerOf(testcert.New(t, testcert.Template{Name: "leaf", Issuer: notCA, Kind: testcert.P256, Dir: dir}), notCA), root},
		{"issuer without keyCertSign", signerOf(testcert.New(t, testcert.Template{Name: "leaf", Issuer: noCertSign, Kind: testcert.P256, Dir: dir}), noCertSign), root},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed := signBytes(t, stub, tc.signer, false)
			if _, err := VerifyImage(parse(t, signed), []*x509.Certificate{tc.anchor.Cert}, Options{}); !errors.Is(err, ErrUntrusted) {
				t.Errorf("our verify: %v, want ErrUntrusted", err)
			}
			path := writeTemp(t, dir, "signed.efi", signed)
			if out, err := exec.Command(osslsigncode, "verify", "-CAfile", tc.anchor.CertPath, "-in", path).CombinedOutput(); err == nil {
				t.Errorf("osslsigncode accepts what we refuse:\n%s", out)
			}
		})
	}
}

// A signature carrying many certificates that lead nowhere ends quickly.
func TestTrustChainBounded(t *testing.T) {
	root := testcert.New(t, testcert.Template{Name: "root", CA: true, Kind: testcert.P256})
	ids := []*testcert.Identity{root}
	for i := 0; i < maxChainDepth+2; i++ {
		ids = append(ids, testcert.New(t, testcert.Template{Name: "ca", CA: true, Issuer: ids[len(ids)-1], Kind: testcert.P256}))
	}
	leaf := testcert.New(t, testcert.Template{Name: "leaf", Issuer: ids[len(ids)-1], Kind: testcert.P256})
	s := &Signature{Signer: leaf.Cert}
	for i := len(ids) - 1; i >= 0; i-- {
		s.Certificates = append(s.Certificates, ids[i].Cert)
	}
	if _, err := s.TrustChain([]*x509.Certificate{root.Cert}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("chain of %d: %v, want ErrUntrusted", len(ids)+1, err)
	}
	if _, err := s.TrustChain([]*x509.Certificate{ids[3].Cert}); err != nil {
		t.Fatalf("anchor within reach: %v", err)
	}
}

// Certificates that all sign each other (one key, one name) would give the
// depth-first search every ordering of them to try: the signature-check
// budget ends it.
func TestTrustChainBudget(t *testing.T) {
	key := testcert.NewKey(t, testcert.P256)
	prev := testcert.New(t, testcert.Template{Name: "loop", CA: true, Key: key})
	s := &Signature{Certificates: []*x509.Certificate{prev.Cert}}
	for i := 0; i < 30; i++ {
		prev = testcert.New(t, testcert.Template{Name: "loop", CA: true, Key: key, Issuer: prev})
		s.Certificates = append(s.Certificates, prev.Cert)
	}
	leaf := testcert.New(t, testcert.Template{Name: "leaf", Issuer: prev, Kind: testcert.P256})
	s.Signer = leaf.Cert
	s.Certificates = append(s.Certificates, leaf.Cert)
	other := testcert.New(t, testcert.Template{Name: "other", CA: true, Kind: testcert.P256})
	start := time.Now()
	_, err := s.TrustChain([]*x509.Certificate{other.Cert})
	if !errors.Is(err, ErrUntrusted) || !errors.Is(err, errTooManyChecks) {
		t.Fatalf("%v, want ErrUntrusted after too many checks", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// A certificate its issuer signed with SHA-1 (which crypto/x509 no longer
// checks) is checked here and called legacy; sbverify accepts it. A SHA-1
// signature by another key is refused even with AllowLegacy.
func TestSHA1CertificateSignature(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	dir := t.TempDir()
	ca := testcert.New(t, testcert.Template{Name: "ca", CA: true, Dir: dir})
	impostor := testcert.New(t, testcert.Template{Name: "ca", CA: true}) // same name, other key
	leaf := testcert.New(t, testcert.Template{Name: "leaf", Issuer: ca, SignatureAlgorithm: x509.SHA1WithRSA, Dir: dir})
	if err := signerOf(leaf).Check(); !errors.Is(err, ErrUnsupportedAlgo) {
		t.Errorf("Signer.Check: %v, want ErrUnsupportedAlgo", err)
	}
	// Signed as another tool would: Check is what refuses such a chain.
	signed := craftSigned(t, peer.File(t, debianStub), leaf, crypto.SHA256, crypto.SHA256)
	f := parse(t, signed)
	if _, err := VerifyImage(f, []*x509.Certificate{ca.Cert}, Options{}); !errors.Is(err, ErrLegacy) || !strings.Contains(err.Error(), "signed with SHA-1") {
		t.Errorf("default: %v, want ErrLegacy", err)
	}
	v, err := VerifyImage(f, []*x509.Certificate{ca.Cert}, Options{AllowLegacy: true})
	if err != nil || len(v.Legacy) != 1 {
		t.Errorf("AllowLegacy: %v, %v", v, err)
	}
	if _, err := VerifyImage(f, []*x509.Certificate{impostor.Cert}, Options{AllowLegacy: true}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("SHA-1 signature by another key: %v, want ErrUntrusted", err)
	}
	if out, err := exec.Command(sbverify, "--cert", ca.CertPath, writeTemp(t, dir, "signed.efi", signed)).CombinedOutput(); err != nil {
		t.Errorf("sbverify: %v\n%s", err, out)
	}
}
