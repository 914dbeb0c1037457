package pkcs7

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// ErrUnsupportedKey is returned for a key that is neither RSA nor ECDSA.
var ErrUnsupportedKey = errors.New("unsupported signing key")

// Content is what a SignedData signs.
type Content struct {
	Type     asn1.ObjectIdentifier
	DER      []byte // the content's DER encoding
	Detached bool   // leave the content out of the SignedData
}

// SignatureAlgorithm returns the DigestEncryptionAlgorithm identifier for a
// public key, as OpenSSL and sbsign write it.
func SignatureAlgorithm(pub crypto.PublicKey) (pkix.AlgorithmIdentifier, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return pkix.AlgorithmIdentifier{Algorithm: OIDRSAEncryption, Parameters: asn1.NullRawValue}, nil
	case *ecdsa.PublicKey:
		return pkix.AlgorithmIdentifier{Algorithm: OIDECDSAWithSHA256}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// Sign makes a SignedData with one signer, chain[0], carrying chain. With
// attrs (the DER SET of the authenticated attributes) the signature covers
// attrs, as RFC 2315 section 9.3 says; without, it covers content.DER.
func Sign(key crypto.Signer, chain []*x509.Certificate, content Content, attrs []byte) (*SignedData, error) {
	if len(chain) == 0 {
		return nil, errors.New("no signing certificate")
	}
	sigAlg, err := SignatureAlgorithm(key.Public())
	if err != nil {
		return nil, err
	}
	signed := content.DER
	if attrs != nil {
		signed = attrs
	}
	digest := sha256.Sum256(signed)
	// A nil random source makes ECDSA use RFC 6979 nonces; RSA PKCS#1 v1.5
	// is deterministic anyway.
	sig, err := key.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	var certs []byte
	for _, c := range chain {
		certs = append(certs, c.Raw...)
	}
	info := SignerInfo{
		Version: 1,
		IssuerAndSerialNumber: IssuerAndSerialNumber{
			Issuer:       asn1.RawValue{FullBytes: chain[0].RawIssuer},
			SerialNumber: chain[0].SerialNumber,
		},
		DigestAlgorithm:           SHA256,
		DigestEncryptionAlgorithm: sigAlg,
		EncryptedDigest:           sig,
	}
	if attrs != nil {
		// Stored with the tag [0] IMPLICIT, signed with the SET tag.
		var set asn1.RawValue
		if _, err := asn1.Unmarshal(attrs, &set); err != nil {
			return nil, fmt.Errorf("authenticated attributes: %w", err)
		}
		info.AuthenticatedAttributes = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set.Bytes}
	}
	sd := &SignedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{SHA256},
		ContentInfo:      ContentInfo{ContentType: content.Type},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos:      []SignerInfo{info},
	}
	if !content.Detached {
		sd.ContentInfo.Content = Explicit0(content.DER)
	}
	return sd, nil
}

// Marshal encodes the bare SignedData (what EFI authenticated variables
// carry).
func (sd *SignedData) Marshal() ([]byte, error) {
	der, err := asn1.Marshal(*sd)
	if err != nil {
		return nil, fmt.Errorf("encoding SignedData: %w", err)
	}
	return der, nil
}

// MarshalContentInfo encodes the SignedData inside a ContentInfo (what an
// Authenticode signature is).
func (sd *SignedData) MarshalContentInfo() ([]byte, error) {
	der, err := sd.Marshal()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ContentInfo{ContentType: OIDSignedData, Content: Explicit0(der)})
}

// Explicit0 wraps DER in a [0] EXPLICIT tag (a RawValue with FullBytes
// would bypass a struct tag's explicit wrapper).
func Explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}
