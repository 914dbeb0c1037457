package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
	"sort"
	"strings"
	"unicode/utf16"
)

// ErrUnsupportedKey is returned for keys UEFI firmware cannot check.
var ErrUnsupportedKey = errors.New("unsupported signing key")

// ErrKeyMismatch is returned when the private key is not the certificate's.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// ErrCertificateUsage is returned for a signing certificate whose key
// usages do not allow signing code: Verify would refuse its signatures.
var ErrCertificateUsage = errors.New("certificate is not for code signing")

// Signer is a key and the certificates that go with its signatures: Chain[0]
// is the signing certificate, the rest (optional) intermediates to embed.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Check refuses a key that is not RSA 2048..4096 or ECDSA P-256, or that
// does not match Chain[0], and a chain Verify would call legacy: a signing
// certificate not for code signing, an RSA key under 2048 bits among the
// certificates to embed, a certificate signed with SHA-1 by another.
func (s *Signer) Check() error {
	if len(s.Chain) == 0 {
		return errors.New("no signing certificate")
	}
	switch k := s.Key.Public().(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minRSABits || bits > 4096 {
			return fmt.Errorf("%w: RSA key of %d bits, need 2048 to 4096", ErrUnsupportedKey, bits)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA key on %s, only P-256 is supported", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	default:
		return fmt.Errorf("%w: %T (use RSA or ECDSA P-256)", ErrUnsupportedKey, k)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := s.Key.Public().(equaler); !ok || !e.Equal(s.Chain[0].PublicKey) {
		return fmt.Errorf("%w (certificate %s)", ErrKeyMismatch, s.Chain[0].Subject)
	}
	if u := signingUsage(s.Chain[0]); len(u) > 0 {
		return fmt.Errorf("%w: %s", ErrCertificateUsage, strings.Join(u, "; "))
	}
	for i, c := range s.Chain {
		if w := weakRSA(c); w != "" && i > 0 {
			return fmt.Errorf("%w: %s", ErrUnsupportedKey, w)
		}
		// A self-signed certificate can only be trusted as itself, and
		// the trusted certificate's own signature is never checked.
		if sha1Signed(c) && !bytes.Equal(c.RawIssuer, c.RawSubject) {
			return fmt.Errorf("%w: certificate %s is signed with SHA-1", ErrUnsupportedAlgo, c.Subject)
		}
	}
	return nil
}

// Sign returns the DER PKCS#7 SignedData Authenticode signature of an image
// whose SHA-256 Authenticode digest is digest. The output depends only on
// its inputs: there is no signing time and signatures are deterministic.
func (s *Signer) Sign(digest []byte) ([]byte, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("digest is %d bytes, want a SHA-256 digest", len(digest))
	}
	content, err := indirectDataContent(pkcs7.SHA256, digest)
	if err != nil {
		return nil, err
	}
	// The content's digest covers its value only, without the SEQUENCE's
	// tag and length: a quirk of Authenticode kept for compatibility.
	var inner asn1.RawValue
	if _, err := asn1.Unmarshal(content, &inner); err != nil {
		return nil, err
	}
	contentDigest := sha256.Sum256(inner.Bytes)
	attrs, err := signedAttributes(contentDigest[:])
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.Sign(s.Key, s.Chain, pkcs7.Content{Type: oidSpcIndirectDataContent, DER: content}, attrs)
	if err != nil {
		return nil, err
	}
	return sd.MarshalContentInfo()
}

// indirectDataContent encodes SpcIndirectDataContent for a PE image.
func indirectDataContent(alg pkix.AlgorithmIdentifier, digest []byte) ([]byte, error) {
	// SpcPeImageData ::= SEQUENCE { flags BIT STRING, file [0] SpcLink }
	// with SpcLink file [2] SpcString unicode [0] IMPLICIT BMPString.
	name := bmpString(obsolete)
	str, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: name})
	link, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: str})
	file, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: link})
	flags, _ := asn1.Marshal(asn1.BitString{})
	peData, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(flags, file...)})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(spcIndirectDataContent{
		Data:          spcAttributeTypeAndOptionalValue{Type: oidSpcPeImageData, Value: asn1.RawValue{FullBytes: peData}},
		MessageDigest: digestInfo{DigestAlgorithm: alg, Digest: digest},
	})
}

// signedAttributes returns the DER SET of the authenticated attributes:
// content type, an empty SpcSpOpusInfo (as sbsign writes) and the content
// digest. No signing time, so the signature is reproducible.
func signedAttributes(contentDigest []byte) ([]byte, error) {
	ct, _ := asn1.Marshal(oidSpcIndirectDataContent)
	md, _ := asn1.Marshal(contentDigest)
	opus, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true})
	var encoded [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		val []byte
	}{{pkcs7.OIDAttributeContentType, ct}, {oidSpcSpOpusInfo, opus}, {pkcs7.OIDAttributeMessageDigest, md}} {
		b, err := asn1.Marshal(pkcs7.Attribute{Type: a.oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: a.val}})
		if err != nil {
			return nil, err
		}
		encoded = append(encoded, b)
	}
	// DER orders the members of a SET OF by their encodings.
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(encoded, nil)})
}

func bmpString(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}
