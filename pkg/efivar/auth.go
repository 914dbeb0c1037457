package efivar

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"math"
	"time"
)

// SignedPayload is what the signature of a time-based authenticated write
// covers (UEFI 2.10 section 8.2.6): VariableName without its NUL,
// VendorGuid, Attributes, TimeStamp, then the new data. It is what
// sign-efi-sig-list -o writes, for external signing.
func SignedPayload(v Variable, ts time.Time, data []byte) ([]byte, error) {
	t, err := efiTime(ts)
	if err != nil {
		return nil, err
	}
	name := v.nameUTF16()
	out := make([]byte, 0, len(name)+16+4+efiTimeSize+len(data))
	out = append(out, name...)
	out = append(out, v.GUID[:]...)
	out = le.AppendUint32(out, v.Attributes)
	out = append(out, t[:]...)
	return append(out, data...), nil
}

// Sign returns an authenticated write of data to v:
// EFI_VARIABLE_AUTHENTICATION_2 (timestamp ts, a PKCS#7 signature by key
// carrying certs, the signer's certificate first) followed by data. The
// signer must hold the key the firmware checks the write against: PK for
// PK and KEK, a KEK (or PK) for db and dbx; in setup mode a PK signed by
// itself is accepted. Pass the result to EfivarfsContent to write it from
// Linux.
func Sign(v Variable, data []byte, ts time.Time, key crypto.Signer, certs ...*x509.Certificate) ([]byte, error) {
	payload, err := SignedPayload(v, ts, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	sig, err := signDetached(payload, key, certs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	return authenticated(ts, sig, data)
}

// WithSignature assembles an authenticated write from a detached PKCS#7
// SignedData made elsewhere (e.g. by an HSM) over SignedPayload(v, ts,
// data). A full ContentInfo is accepted too: EDK2 takes either.
func WithSignature(ts time.Time, signedData, data []byte) ([]byte, error) {
	return authenticated(ts, signedData, data)
}

func authenticated(ts time.Time, sig, data []byte) ([]byte, error) {
	t, err := efiTime(ts)
	if err != nil {
		return nil, err
	}
	length := winCertUEFIGUIDHeaderSz + len(sig)
	if length > math.MaxUint32 {
		return nil, fmt.Errorf("signature too large (%d bytes)", len(sig))
	}
	out := make([]byte, 0, efiTimeSize+length+len(data))
	out = append(out, t[:]...)
	out = le.AppendUint32(out, uint32(length))
	out = le.AppendUint16(out, WIN_CERT_REVISION_2_0)
	out = le.AppendUint16(out, WIN_CERT_TYPE_EFI_GUID)
	out = append(out, EFI_CERT_TYPE_PKCS7_GUID[:]...)
	out = append(out, sig...)
	return append(out, data...), nil
}
