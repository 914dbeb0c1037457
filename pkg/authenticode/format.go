package authenticode

import "encoding/asn1"

// WIN_CERTIFICATE (PE/COFF "The Attribute Certificate Table").
const (
	winCertHeaderSize              = 8
	WIN_CERT_REVISION_2_0          = 0x0200
	WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
	certAlign                      = 8 // each entry starts on a quadword boundary
)

// Object identifiers of PKCS#7 (RFC 2315), PKCS#9 attributes and the
// Authenticode structures.
var (
	oidSpcIndirectDataContent = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcSpOpusInfo          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidSpcPeImageData         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// obsolete is the file name Authenticode puts in SpcPeImageData: the
// literal "<<<Obsolete>>>" as a BMPString.
const obsolete = "<<<Obsolete>>>"
