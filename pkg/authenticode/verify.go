package authenticode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
)

// Verification errors callers branch on.
var (
	ErrNotSigned       = errors.New("image is not signed")
	ErrMalformed       = errors.New("malformed Authenticode signature")
	ErrDigestMismatch  = errors.New("signature is for another image: its digest differs from the image's Authenticode hash")
	ErrBadSignature    = errors.New("PKCS#7 signature does not verify")
	ErrUntrusted       = errors.New("signer is not trusted by the given certificates")
	ErrUnsupportedAlgo = errors.New("unsupported algorithm")
	// ErrLegacy is a valid signature made in a way Sign never signs:
	// a SHA-1 digest, a SignerInfo digest algorithm other than the image
	// digest's, a certificate of the chain signed with SHA-1, an RSA key
	// under 2048 bits or an ECDSA signing key on a curve other than
	// P-256, or a signing certificate whose key usage lacks
	// digitalSignature or whose extended key usage lacks codeSigning.
	ErrLegacy = errors.New("legacy signature, refused by default")
)

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
					return fmt.Errorf("%w: message digest attribute: %w", ErrMalformed, err)
				}
			case a.Type.Equal(pkcs7.OIDAttributeContentType):
				if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil {
					return fmt.Errorf("%w: content type attribute: %w", ErrMalformed, err)
				}
			}
		}
		if md == nil || !ct.Equal(oidSpcIndirectDataContent) {
			return fmt.Errorf("%w: authenticated attributes lack the message digest or content type", ErrMalformed)
		}
		if !bytes.Equal(md, contentDigest) {
			return fmt.Errorf("%w: message digest attribute does not match the signed content", ErrBadSignature)
		}
		h.Reset()
		h.Write(s.attrs)
		signed = h.Sum(nil)
	}
	sig := s.info.EncryptedDigest
	switch pub := s.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, alg, signed, sig); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSignature, err)
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

// Options are the choices verification leaves to the caller.
type Options struct {
	// AllowLegacy accepts a valid signature made in a way Sign never
	// signs (see ErrLegacy); Verified.Legacy then says what was accepted.
	AllowLegacy bool
}

// Verified is a signature that verified, and how.
type Verified struct {
	*Signature
	Chain  []*x509.Certificate // the signer's certificate first, the trusted one last
	Legacy []string            // what Options.AllowLegacy let through; empty otherwise
}

// Verify checks one signature completely: the digest against the image,
// the PKCS#7 signature, the chain to one of roots (validity dates aside,
// see TrustChain), then that nothing in it is legacy unless opts allow it.
func (s *Signature) Verify(f *pe.File, roots []*x509.Certificate, opts Options) (*Verified, error) {
	if err := s.CheckDigest(f); err != nil {
		return nil, err
	}
	if err := s.CheckSignature(); err != nil {
		return nil, err
	}
	chain, err := s.TrustChain(roots)
	if err != nil {
		return nil, err
	}
	v := &Verified{Signature: s, Chain: chain, Legacy: legacy(s, chain)}
	if len(v.Legacy) > 0 && !opts.AllowLegacy {
		return nil, fmt.Errorf("%w: %s", ErrLegacy, strings.Join(v.Legacy, "; "))
	}
	return v, nil
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

// VerifyImage succeeds when at least one signature of f verifies with
// roots and opts, preferring one without legacy findings; otherwise it
// returns the first signature's error.
func VerifyImage(f *pe.File, roots []*x509.Certificate, opts Options) (*Verified, error) {
	sigs, err := Signatures(f)
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, ErrNotSigned
	}
	var first error
	var fallback *Verified
	for i, s := range sigs {
		v, err := s.Verify(f, roots, opts)
		switch {
		case err == nil && len(v.Legacy) == 0:
			return v, nil
		case err == nil:
			if fallback == nil {
				fallback = v
			}
		case first == nil:
			first = fmt.Errorf("signature %d (%s): %w", i+1, s.Signer.Subject, err)
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, first
}
