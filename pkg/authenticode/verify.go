package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
	"time"

	_ "crypto/sha1" // digests of signatures made by other tools
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Verification errors callers branch on.
var (
	ErrNotSigned       = errors.New("image is not signed")
	ErrMalformed       = errors.New("malformed Authenticode signature")
	ErrDigestMismatch  = errors.New("signature is for another image: its digest differs from the image's Authenticode hash")
	ErrBadSignature    = errors.New("PKCS#7 signature does not verify")
	ErrUntrusted       = errors.New("signer is not trusted by the given certificates")
	ErrUnsupportedAlgo = errors.New("unsupported algorithm")
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
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !allZero(rest) {
		return nil, fmt.Errorf("%w: trailing data after the signature", ErrMalformed)
	}
	if !ci.ContentType.Equal(pkcs7.OIDSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not SignedData", ErrMalformed, ci.ContentType)
	}
	var sd pkcs7.SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrMalformed, err)
	}
	if !sd.ContentInfo.ContentType.Equal(oidSpcIndirectDataContent) {
		return nil, fmt.Errorf("%w: content type %v is not SpcIndirectDataContent", ErrMalformed, sd.ContentInfo.ContentType)
	}
	// With an explicit tag, Bytes is the whole inner element.
	idcDER := sd.ContentInfo.Content.Bytes
	var idc spcIndirectDataContent
	if _, err := asn1.Unmarshal(idcDER, &idc); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %v", ErrMalformed, err)
	}
	var idcValue asn1.RawValue
	if _, err := asn1.Unmarshal(idcDER, &idcValue); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %v", ErrMalformed, err)
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
			return nil, fmt.Errorf("%w: certificates: %v", ErrMalformed, err)
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
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		s.attrs = set
		if _, err := asn1.UnmarshalWithParams(set, &s.attrsList, "set"); err != nil {
			return nil, fmt.Errorf("%w: authenticated attributes: %v", ErrMalformed, err)
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

// CheckDigest compares the digest inside the signature with the image's own
// Authenticode hash (computed with the signature's algorithm).
func (s *Signature) CheckDigest(f *pe.File) error {
	d, err := Hash(f, s.DigestAlg.New())
	if err != nil {
		return err
	}
	if !bytes.Equal(d, s.Digest) {
		return fmt.Errorf("%w (image %x, signature %x)", ErrDigestMismatch, d, s.Digest)
	}
	return nil
}

// CheckSignature verifies the PKCS#7 signature: the message digest
// attribute against the content, and the signer's signature over the
// attributes (or over the content when there are none).
func (s *Signature) CheckSignature() error {
	alg, err := hashFor(s.info.DigestAlgorithm.Algorithm)
	if err != nil {
		return err
	}
	h := alg.New()
	h.Write(s.content)
	contentDigest := h.Sum(nil)
	signed := contentDigest
	if s.attrs != nil {
		var md []byte
		var ct asn1.ObjectIdentifier
		for _, a := range s.attrsList {
			switch {
			case a.Type.Equal(pkcs7.OIDAttributeMessageDigest):
				if _, err := asn1.Unmarshal(a.Values.Bytes, &md); err != nil {
					return fmt.Errorf("%w: message digest pkcs7.Attribute: %v", ErrMalformed, err)
				}
			case a.Type.Equal(pkcs7.OIDAttributeContentType):
				if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil {
					return fmt.Errorf("%w: content type pkcs7.Attribute: %v", ErrMalformed, err)
				}
			}
		}
		if md == nil || !ct.Equal(oidSpcIndirectDataContent) {
			return fmt.Errorf("%w: authenticated attributes lack the message digest or content type", ErrMalformed)
		}
		if !bytes.Equal(md, contentDigest) {
			return fmt.Errorf("%w: message digest pkcs7.Attribute does not match the signed content", ErrBadSignature)
		}
		h.Reset()
		h.Write(s.attrs)
		signed = h.Sum(nil)
	}
	sig := s.info.EncryptedDigest
	switch pub := s.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, alg, signed, sig); err != nil {
			return fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, signed, sig) {
			return ErrBadSignature
		}
	default:
		return fmt.Errorf("%w: signer key %T", ErrUnsupportedAlgo, pub)
	}
	return nil
}

// CheckTrust verifies the X.509 chain from the signer to one of roots,
// using the signature's other certificates as intermediates. Any extended
// key usage is accepted (code signing certificates lack ServerAuth) and,
// as in UEFI, validity periods are not enforced.
func (s *Signature) CheckTrust(roots []*x509.Certificate) error {
	if len(roots) == 0 {
		return fmt.Errorf("%w: no certificates given", ErrUntrusted)
	}
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range s.Certificates {
		if c != s.Signer {
			inter.AddCert(c)
		}
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	_, err := s.Signer.Verify(opts)
	if err != nil {
		// Retry at moments inside the signer's validity, to ignore expiry.
		for _, t := range []time.Time{s.Signer.NotBefore, s.Signer.NotAfter} {
			opts.CurrentTime = t
			if _, err2 := s.Signer.Verify(opts); err2 == nil {
				return nil
			}
		}
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return nil
}

// Verify checks one signature completely: digest, PKCS#7 signature, chain.
func (s *Signature) Verify(f *pe.File, roots []*x509.Certificate) error {
	if err := s.CheckDigest(f); err != nil {
		return err
	}
	if err := s.CheckSignature(); err != nil {
		return err
	}
	return s.CheckTrust(roots)
}

// Signatures parses every PKCS#7 entry of f's certificate table.
func Signatures(f *pe.File) ([]*Signature, error) {
	entries, err := ReadCertificateTable(f)
	if err != nil {
		return nil, err
	}
	var sigs []*Signature
	for i, e := range entries {
		if e.Type != WIN_CERT_TYPE_PKCS_SIGNED_DATA {
			continue
		}
		s, err := ParseSignature(e.Data)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// VerifyImage succeeds when at least one signature of f is valid and
// trusted by roots; otherwise it returns the first signature's error.
func VerifyImage(f *pe.File, roots []*x509.Certificate) (*Signature, error) {
	sigs, err := Signatures(f)
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, ErrNotSigned
	}
	var first error
	for i, s := range sigs {
		err := s.Verify(f, roots)
		if err == nil {
			return s, nil
		}
		if first == nil {
			first = fmt.Errorf("signature %d (%s): %w", i+1, s.Signer.Subject, err)
		}
	}
	return nil, first
}
