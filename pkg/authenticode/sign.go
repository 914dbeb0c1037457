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
	"sort"
	"unicode/utf16"
)

// ErrUnsupportedKey is returned for keys UEFI firmware cannot check.
var ErrUnsupportedKey = errors.New("unsupported signing key")

// ErrKeyMismatch is returned when the private key is not the certificate's.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// Signer is a key and the certificates that go with its signatures: Chain[0]
// is the signing certificate, the rest (optional) intermediates to embed.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Check refuses a key that is not RSA 2048..4096 or ECDSA P-256, or that
// does not match Chain[0].
func (s *Signer) Check() error {
	if len(s.Chain) == 0 {
		return errors.New("no signing certificate")
	}
	switch k := s.Key.Public().(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 || bits > 4096 {
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
	sha256Alg := pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}

	content, err := indirectDataContent(sha256Alg, digest)
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
	// The signature covers the attributes encoded as a SET (tag 0x31),
	// although they are stored with the tag [0] IMPLICIT.
	attrsDigest := sha256.Sum256(attrs)
	var sigAlg pkix.AlgorithmIdentifier
	switch s.Key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	}
	// A nil random source makes ECDSA use RFC 6979 nonces; RSA PKCS#1 v1.5
	// is deterministic anyway.
	sig, err := s.Key.Sign(nil, attrsDigest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}

	var certs []byte
	for _, c := range s.Chain {
		certs = append(certs, c.Raw...)
	}
	leaf := s.Chain[0]
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{sha256Alg},
		ContentInfo: contentInfo{
			ContentType: oidSpcIndirectDataContent,
			Content:     explicit0(content),
		},
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos: []signerInfo{{
			Version: 1,
			IssuerAndSerialNumber: issuerAndSerialNumber{
				Issuer:       asn1.RawValue{FullBytes: leaf.RawIssuer},
				SerialNumber: leaf.SerialNumber,
			},
			DigestAlgorithm:           sha256Alg,
			AuthenticatedAttributes:   asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: setContents(attrs)},
			DigestEncryptionAlgorithm: sigAlg,
			EncryptedDigest:           sig,
		}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("encoding SignedData: %w", err)
	}
	return asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content:     explicit0(sdDER),
	})
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
	}{{oidAttributeContentType, ct}, {oidSpcSpOpusInfo, opus}, {oidAttributeMessageDigest, md}} {
		b, err := asn1.Marshal(attribute{Type: a.oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: a.val}})
		if err != nil {
			return nil, err
		}
		encoded = append(encoded, b)
	}
	// DER orders the members of a SET OF by their encodings.
	sort.Slice(encoded, func(i, j int) bool { return bytes.Compare(encoded[i], encoded[j]) < 0 })
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(encoded, nil)})
}

// explicit0 wraps DER in a [0] EXPLICIT tag (a RawValue with FullBytes
// would bypass the struct tag's explicit wrapper).
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// setContents strips the tag and length of a DER SET.
func setContents(set []byte) []byte {
	var rv asn1.RawValue
	asn1.Unmarshal(set, &rv)
	return rv.Bytes
}

func bmpString(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}
