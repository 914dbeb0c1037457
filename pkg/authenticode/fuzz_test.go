package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// The seeds in testdata/fuzz are real: UKIs signed by nix-uki, sbsign and
// osslsigncode, and their certificate tables and PKCS#7 signatures
// (testdata/mkfuzzseeds). testdata/fuzz-roots.pem holds the certificates
// those signatures chain to.

// FuzzParseCertificateTable splits a certificate table. Round trip: the
// entries written again with AppendEntry parse to the same data.
func FuzzParseCertificateTable(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, table []byte) {
		entries, err := ParseCertificateTable(table)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = AppendEntry(again, e.Data)
		}
		got, err := ParseCertificateTable(again)
		if err != nil {
			t.Fatalf("a table AppendEntry wrote does not parse: %v", err)
		}
		if len(got) != len(entries) {
			t.Fatalf("%d entries written, %d read back", len(entries), len(got))
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, entries[i].Data) || got[i].Type != WIN_CERT_TYPE_PKCS_SIGNED_DATA {
				t.Fatalf("entry %d changed on the round trip", i)
			}
		}
	})
}

// FuzzParseSignature parses a PKCS#7 Authenticode signature and checks it
// as verify does (signature over the attributes, chain to the seeds' roots).
func FuzzParseSignature(f *testing.F) {
	roots := fuzzRoots(f)
	fuzzbound.Fuzz(f, 32, func(t *testing.T, der []byte) {
		s, err := ParseSignature(der)
		if err != nil {
			return
		}
		if s.Signer == nil || len(s.Digest) != s.DigestAlg.Size() {
			t.Fatalf("parsed signature without signer or with a %d-byte digest for %v", len(s.Digest), s.DigestAlg)
		}
		_ = s.CheckSignature()
		_, _ = s.TrustChain(roots)
	})
}

// FuzzVerifyImage verifies an image as `nix-uki verify` does. An image that
// verifies must carry a signature whose digest is the image's own hash.
func FuzzVerifyImage(f *testing.F) {
	roots := fuzzRoots(f)
	fuzzbound.Fuzz(f, 32, func(t *testing.T, img []byte) {
		pf, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return
		}
		_, _ = Signatures(pf)
		s, err := VerifyImage(pf, roots, Options{AllowLegacy: true})
		if err != nil {
			return
		}
		d, err := Hash(pf, s.DigestAlg.New())
		if err != nil || !bytes.Equal(d, s.Digest) {
			t.Fatalf("verified, but the image hashes to %x (%v), the signature says %x", d, err, s.Digest)
		}
	})
}

func fuzzRoots(f testing.TB) []*x509.Certificate {
	f.Helper()
	b, err := os.ReadFile("testdata/fuzz-roots.pem")
	if err != nil {
		f.Fatal(err)
	}
	var roots []*x509.Certificate
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			f.Fatal(err)
		}
		roots = append(roots, c)
	}
	return roots
}

// TestFuzzSeeds proves the seeds are real signatures that verify against
// testdata/fuzz-roots.pem (and one unsigned image).
func TestFuzzSeeds(t *testing.T) {
	roots := fuzzRoots(t)
	fuzzbound.EachSeed(t, "FuzzVerifyImage", func(img []byte) error {
		pf, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			return err
		}
		if _, err := VerifyImage(pf, roots, Options{}); err != nil && !errors.Is(err, ErrNotSigned) {
			return err
		}
		return nil
	})
	fuzzbound.EachSeed(t, "FuzzParseCertificateTable", func(table []byte) error {
		entries, err := ParseCertificateTable(table)
		if err == nil && len(entries) != 1 {
			err = fmt.Errorf("%d entries", len(entries))
		}
		return err
	})
	fuzzbound.EachSeed(t, "FuzzParseSignature", func(der []byte) error {
		s, err := ParseSignature(der)
		if err != nil {
			return err
		}
		return s.CheckSignature()
	})
}
