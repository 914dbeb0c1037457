package authenticode

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
)

// layout signs images only to give them the layout of a signed image.
var layout *testcert.Identity

// craftSigned returns img signed by id the way Sign never signs: the image
// digest with imageAlg, the SignerInfo digest (attributes and signature)
// with signerAlg, and no check of the key. The rest is laid out as Sign
// does.
func craftSigned(t *testing.T, img []byte, id *testcert.Identity, imageAlg, signerAlg crypto.Hash) []byte {
	t.Helper()
	oid := map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: oidSHA1, crypto.SHA256: pkcs7.OIDSHA256, crypto.SHA512: oidSHA512}
	algID := func(h crypto.Hash) pkix.AlgorithmIdentifier {
		return pkix.AlgorithmIdentifier{Algorithm: oid[h], Parameters: asn1.NullRawValue}
	}
	// Lay the image out with a signature of the right kind, then replace
	// that signature: the Authenticode hash does not cover the table.
	if layout == nil {
		layout = testcert.New(t, testcert.Template{Name: "layout"})
	}
	laid := signBytes(t, img, signerOf(layout), false)
	f := parse(t, laid)
	digest, err := Hash(f, imageAlg.New())
	if err != nil {
		t.Fatal(err)
	}
	content, err := indirectDataContent(algID(imageAlg), digest)
	if err != nil {
		t.Fatal(err)
	}
	var inner asn1.RawValue
	if _, err := asn1.Unmarshal(content, &inner); err != nil {
		t.Fatal(err)
	}
	sum := func(b []byte) []byte { h := signerAlg.New(); h.Write(b); return h.Sum(nil) }
	attrs, err := signedAttributes(sum(inner.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := id.Key.Sign(rand.Reader, sum(attrs), signerAlg)
	if err != nil {
		t.Fatal(err)
	}
	sigAlg, err := pkcs7.SignatureAlgorithm(id.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var set asn1.RawValue
	asn1.Unmarshal(attrs, &set)
	sd := pkcs7.SignedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{algID(signerAlg)},
		ContentInfo:      pkcs7.ContentInfo{ContentType: oidSpcIndirectDataContent, Content: pkcs7.Explicit0(content)},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: id.Cert.Raw},
		SignerInfos: []pkcs7.SignerInfo{{
			Version:                   1,
			IssuerAndSerialNumber:     pkcs7.IssuerAndSerialNumber{Issuer: asn1.RawValue{FullBytes: id.Cert.RawIssuer}, SerialNumber: id.Cert.SerialNumber},
			DigestAlgorithm:           algID(signerAlg),
			AuthenticatedAttributes:   asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set.Bytes},
			DigestEncryptionAlgorithm: sigAlg,
			EncryptedDigest:           sig,
		}},
	}
	der, err := sd.MarshalContentInfo()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := f.CertificateTable()
	table := AppendEntry(nil, der)
	out := append(append([]byte(nil), laid[:d.VirtualAddress]...), table...)
	dirOff, _ := f.DataDirectoryOffset(pe.IMAGE_DIRECTORY_ENTRY_SECURITY)
	binary.LittleEndian.PutUint32(out[dirOff+4:], uint32(len(table)))
	return out
}

// Regression (issue 8): verify accepted what sign never makes. Each legacy
// property is refused by default (ErrLegacy, after the signature itself
// verified) and accepted with AllowLegacy, which then names it.
func TestLegacyRefusedByDefault(t *testing.T) {
	stub := peer.File(t, debianStub)
	key := testcert.NewKey(t, testcert.RSA2048)
	tests := []struct {
		name                string
		tmpl                testcert.Template
		imageAlg, signerAlg crypto.Hash
		legacy              string // "" for a signature sign could have made
	}{
		{"as sign makes it", testcert.Template{}, crypto.SHA256, crypto.SHA256, ""},
		{"no key usage extensions", testcert.Template{KeyUsage: testcert.NoKeyUsage, ExtKeyUsage: []x509.ExtKeyUsage{}}, crypto.SHA256, crypto.SHA256, ""},
		{"any extended key usage", testcert.Template{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}, crypto.SHA256, crypto.SHA256, ""},
		{"code signing among others", testcert.Template{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageCodeSigning}}, crypto.SHA256, crypto.SHA256, ""},
		{"SHA-512", testcert.Template{}, crypto.SHA512, crypto.SHA512, ""},
		{"SHA-1", testcert.Template{}, crypto.SHA1, crypto.SHA1, "SHA-1 image digest"},
		{"SHA-1 SignerInfo", testcert.Template{}, crypto.SHA256, crypto.SHA1, "SignerInfo digest algorithm SHA-1 differs from the image digest's SHA-256"},
		{"digest algorithms differ", testcert.Template{}, crypto.SHA256, crypto.SHA512, "differs from the image digest's"},
		{"RSA 1024", testcert.Template{Kind: testcert.RSA1024}, crypto.SHA256, crypto.SHA256, "RSA key of 1024 bits"},
		{"no digitalSignature", testcert.Template{KeyUsage: x509.KeyUsageKeyEncipherment}, crypto.SHA256, crypto.SHA256, "lacks digitalSignature"},
		{"no codeSigning", testcert.Template{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, crypto.SHA256, crypto.SHA256, "lacks codeSigning"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tmpl.Name = tc.name
			if tc.tmpl.Kind == "" {
				tc.tmpl.Key = key
			}
			id := testcert.New(t, tc.tmpl)
			f := parse(t, craftSigned(t, stub, id, tc.imageAlg, tc.signerAlg))
			roots := []*x509.Certificate{id.Cert}
			v, err := VerifyImage(f, roots, Options{})
			if tc.legacy == "" {
				if err != nil || len(v.Legacy) != 0 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrLegacy) || !strings.Contains(err.Error(), tc.legacy) {
				t.Fatalf("default: %v, want ErrLegacy naming %q", err, tc.legacy)
			}
			v, err = VerifyImage(f, roots, Options{AllowLegacy: true})
			if err != nil {
				t.Fatalf("AllowLegacy: %v", err)
			}
			if !strings.Contains(strings.Join(v.Legacy, "; "), tc.legacy) {
				t.Fatalf("AllowLegacy says %q, want %q", v.Legacy, tc.legacy)
			}
		})
	}
}

// A legacy signature is still checked: AllowLegacy never accepts a digest
// that is not the image's.
func TestLegacyStillVerified(t *testing.T) {
	id := testcert.New(t, testcert.Template{Name: "old", Kind: testcert.RSA1024})
	img := craftSigned(t, peer.File(t, debianStub), id, crypto.SHA1, crypto.SHA1)
	f := parse(t, img)
	text := f.Section(".text")
	img[text.PointerToRawData+10] ^= 1
	if _, err := VerifyImage(parse(t, img), []*x509.Certificate{id.Cert}, Options{AllowLegacy: true}); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("changed image: %v, want ErrDigestMismatch", err)
	}
}

// With a legacy and a current signature, the current one is reported.
func TestPreferCurrentSignature(t *testing.T) {
	old := testcert.New(t, testcert.Template{Name: "old", Kind: testcert.RSA1024})
	cur := testcert.New(t, testcert.Template{Name: "current"})
	img := signBytes(t, craftSigned(t, peer.File(t, debianStub), old, crypto.SHA256, crypto.SHA256), signerOf(cur), true)
	v, err := VerifyImage(parse(t, img), []*x509.Certificate{old.Cert, cur.Cert}, Options{AllowLegacy: true})
	if err != nil || v.Signer.Subject.CommonName != "current" || len(v.Legacy) != 0 {
		t.Fatalf("got %v, %v", v, err)
	}
}
