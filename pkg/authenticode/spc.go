package authenticode

import (
	"crypto/x509/pkix"
	"encoding/asn1"
)

// ASN.1 structures of the Authenticode content (Authenticode PE format,
// "SpcIndirectDataContent"); PKCS#7 SignedData itself is pkg/pkcs7's.

// spcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
// messageDigest DigestInfo }
type spcIndirectDataContent struct {
	Data          spcAttributeTypeAndOptionalValue
	MessageDigest digestInfo
}

type spcAttributeTypeAndOptionalValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	DigestAlgorithm pkix.AlgorithmIdentifier
	Digest          []byte
}
