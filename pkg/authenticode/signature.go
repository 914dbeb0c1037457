package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	_ "crypto/sha1" // digests of signatures made by other tools
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
)

// Signature is a parsed Authenticode signature.
type Signature struct {
	Raw          []byte
	DigestAlg    crypto.Hash
	Digest       []byte // the image digest the signature claims
	Signer       *x509.Certificate
	Certificates []*x509.Certificate // all certificates it carries

	content   []byte // SpcIndirectDataContent value (what messageDigest covers)
	info      pkcs7.SignerInfo
	attrs     []byte // the authenticated attributes as a DER SET, or nil
	attrsList []pkcs7.Attribute
}

// ParseSignature parses a DER PKCS#7 ContentInfo holding Authenticode
// SignedData. Trailing zero padding is ignored.
func ParseSignature(der []byte) (*Signature, error) {
	var ci pkcs7.ContentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !allZero(rest) {
		return nil, fmt.Errorf("%w: trailing data after the signature", ErrMalformed)
	}
	if !ci.ContentType.Equal(pkcs7.OIDSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not SignedData", ErrMalformed, ci.ContentType)
	}
	var sd pkcs7.SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: SignedData: %w", ErrMalformed, err)
	}
	if !sd.ContentInfo.ContentType.Equal(oidSpcIndirectDataContent) {
		return nil, fmt.Errorf("%w: content type %v is not SpcIndirectDataContent", ErrMalformed, sd.ContentInfo.ContentType)
	}
	// With an explicit tag, Bytes is the whole inner element.
	idcDER := sd.ContentInfo.Content.Bytes
	var idc spcIndirectDataContent
	if _, err := asn1.Unmarshal(idcDER, &idc); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %w", ErrMalformed, err)
	}
	var idcValue asn1.RawValue
	if _, err := asn1.Unmarshal(idcDER, &idcValue); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %w", ErrMalformed, err)
	}
	if !idc.Data.Type.Equal(oidSpcPeImageData) {
		return nil, fmt.Errorf("%w: indirect data type %v is not SpcPeImageData", ErrMalformed, idc.Data.Type)
	}
	alg, err := hashFor(idc.MessageDigest.DigestAlgorithm.Algorithm)
	if err != nil {
		return nil, err
	}
	if len(idc.MessageDigest.Digest) != alg.Size() {
		return nil, fmt.Errorf("%w: %d-byte digest for %v", ErrMalformed, len(idc.MessageDigest.Digest), alg)
	}
	s := &Signature{
		Raw:       der,
		DigestAlg: alg,
		Digest:    idc.MessageDigest.Digest,
		content:   idcValue.Bytes,
	}
	if len(sd.Certificates.Bytes) > 0 {
		if s.Certificates, err = x509.ParseCertificates(sd.Certificates.Bytes); err != nil {
			return nil, fmt.Errorf("%w: certificates: %w", ErrMalformed, err)
		}
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%w: %d signer infos, Authenticode has exactly one", ErrMalformed, len(sd.SignerInfos))
	}
	s.info = sd.SignerInfos[0]
	for _, c := range s.Certificates {
		if bytes.Equal(c.RawIssuer, s.info.IssuerAndSerialNumber.Issuer.FullBytes) && c.SerialNumber.Cmp(s.info.IssuerAndSerialNumber.SerialNumber) == 0 {
			s.Signer = c
			break
		}
	}
	if s.Signer == nil {
		return nil, fmt.Errorf("%w: the signing certificate is not included", ErrMalformed)
	}
	if a := s.info.AuthenticatedAttributes; len(a.FullBytes) > 0 {
		// Re-tag [0] IMPLICIT as SET: that is what was signed.
		set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: a.Bytes})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		s.attrs = set
		if _, err := asn1.UnmarshalWithParams(set, &s.attrsList, "set"); err != nil {
			return nil, fmt.Errorf("%w: authenticated attributes: %w", ErrMalformed, err)
		}
	}
	return s, nil
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(pkcs7.OIDSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupportedAlgo, oid)
}
