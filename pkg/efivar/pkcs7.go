package efivar

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// ErrUnsupportedKey is returned for a key that is neither RSA nor ECDSA.
var ErrUnsupportedKey = errors.New("unsupported signing key")

// PKCS#7 (RFC 2315) object identifiers.
var (
	oidData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// RFC 2315 section 9.1 SignedData, with the content left out (detached).
type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version                   int
	IssuerAndSerialNumber     issuerAndSerialNumber
	DigestAlgorithm           pkix.AlgorithmIdentifier
	DigestEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedDigest           []byte
}

type issuerAndSerialNumber struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}

// signDetached returns a DER SignedData over content without signed
// attributes, carrying certs (the signer's first): what OpenSSL's
// PKCS7_sign gives with PKCS7_DETACHED|PKCS7_NOATTR|PKCS7_BINARY, the form
// EDK2 verifies authenticated variables with.
func signDetached(content []byte, key crypto.Signer, certs []*x509.Certificate) ([]byte, error) {
	if len(certs) == 0 {
		return nil, errors.New("no signing certificate")
	}
	var encAlg pkix.AlgorithmIdentifier
	switch key.Public().(type) {
	case *rsa.PublicKey:
		encAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		encAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key.Public())
	}
	digest := sha256.Sum256(content)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	sha256Alg := pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{sha256Alg},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		SignerInfos: []signerInfo{{
			Version: 1,
			IssuerAndSerialNumber: issuerAndSerialNumber{
				Issuer:       asn1.RawValue{FullBytes: certs[0].RawIssuer},
				SerialNumber: certs[0].SerialNumber,
			},
			DigestAlgorithm:           sha256Alg,
			DigestEncryptionAlgorithm: encAlg,
			EncryptedDigest:           sig,
		}},
	}
	sd.ContentInfo.ContentType = oidData
	der, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("encoding PKCS#7: %w", err)
	}
	return der, nil
}
