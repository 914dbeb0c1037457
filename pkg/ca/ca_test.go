package ca

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

var (
	from  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestChain(t *testing.T) {
	rootKey := testcert.NewKey(t, testcert.RSA2048)
	subKey := testcert.NewKey(t, testcert.RSA2048)
	leafKey := testcert.NewKey(t, testcert.RSA2048)
	ecKey := testcert.NewKey(t, testcert.P256)

	root, err := CreateCA(rootKey, pkix.Name{CommonName: "Example Org CA", Organization: []string{"Example"}}, from, until)
	if err != nil {
		t.Fatal(err)
	}
	if !root.IsCA || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(root.ExtKeyUsage) != 0 || root.MaxPathLen != -1 {
		t.Fatalf("root profile: CA %v usage %v eku %v pathlen %d", root.IsCA, root.KeyUsage, root.ExtKeyUsage, root.MaxPathLen)
	}
	sub, err := Issue(root, rootKey, Request{Profile: MachineSubCA, Subject: pkix.Name{CommonName: "Rack 7"}, PublicKey: subKey.Public(), NotBefore: from, NotAfter: until})
	if err != nil {
		t.Fatal(err)
	}
	if !sub.IsCA || !sub.MaxPathLenZero || sub.MaxPathLen != 0 || sub.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning || !bytes.Equal(sub.AuthorityKeyId, root.SubjectKeyId) {
		t.Fatalf("sub-CA profile: %+v", sub)
	}
	leaf, err := Issue(sub, subKey, Request{Profile: Machine, Subject: pkix.Name{CommonName: "host1"}, PublicKey: leafKey.Public(), NotBefore: from, NotAfter: until})
	if err != nil {
		t.Fatal(err)
	}
	if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Fatalf("machine profile: %+v", leaf)
	}
	direct, err := Issue(root, rootKey, Request{Profile: Machine, Subject: pkix.Name{CommonName: "host2"}, PublicKey: ecKey.Public(), NotBefore: from, NotAfter: until})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := x509.NewCertPool()
	inter.AddCert(sub)
	for _, c := range []*x509.Certificate{leaf, direct} {
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: from.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
		if err != nil {
			t.Fatalf("%s: %v", c.Subject, err)
		}
	}
	if leaf.SerialNumber.Cmp(direct.SerialNumber) == 0 || leaf.SerialNumber.Sign() <= 0 {
		t.Fatal("serial numbers collide or are not positive")
	}

	// Same inputs, same bytes (RSA signatures are deterministic).
	again, err := Issue(sub, subKey, Request{Profile: Machine, Subject: pkix.Name{CommonName: "host1"}, PublicKey: leafKey.Public(), NotBefore: from, NotAfter: until})
	if err != nil || !bytes.Equal(again.Raw, leaf.Raw) {
		t.Fatalf("reissue differs: %v", err)
	}
	rootAgain, _ := CreateCA(rootKey, pkix.Name{CommonName: "Example Org CA", Organization: []string{"Example"}}, from, until)
	if !bytes.Equal(rootAgain.Raw, root.Raw) {
		t.Fatal("CA differs when made again")
	}

	// Refusals.
	req := Request{Profile: MachineSubCA, Subject: pkix.Name{CommonName: "x"}, PublicKey: leafKey.Public(), NotBefore: from, NotAfter: until}
	if _, err := Issue(sub, subKey, req); !errors.Is(err, ErrIssuer) {
		t.Errorf("sub-CA issued a sub-CA: %v", err)
	}
	req.Profile = Machine
	if _, err := Issue(leaf, leafKey, req); !errors.Is(err, ErrIssuer) {
		t.Errorf("machine certificate issued one: %v", err)
	}
	if _, err := Issue(root, subKey, req); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong issuer key: %v", err)
	}
	late := req
	late.NotAfter = until.Add(time.Hour)
	if _, err := Issue(root, rootKey, late); !errors.Is(err, ErrRequest) {
		t.Errorf("outlives its issuer: %v", err)
	}
	noName := req
	noName.Subject = pkix.Name{}
	if _, err := Issue(root, rootKey, noName); !errors.Is(err, ErrRequest) {
		t.Errorf("no common name: %v", err)
	}
	weak := req
	weak.PublicKey = testcert.NewKey(t, testcert.RSA1024).Public()
	if _, err := Issue(root, rootKey, weak); !errors.Is(err, ErrKey) {
		t.Errorf("RSA 1024: %v", err)
	}
	root2 := req
	root2.Profile = OrganisationCA
	if _, err := Issue(root, rootKey, root2); !errors.Is(err, ErrRequest) {
		t.Errorf("Issue made a root: %v", err)
	}
}
