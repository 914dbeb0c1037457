package efivar

import (
	"crypto"
	"crypto/x509"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs7"
)

// ErrUnsupportedKey is returned for a key that is neither RSA nor ECDSA.
var ErrUnsupportedKey = pkcs7.ErrUnsupportedKey

// signDetached returns a DER SignedData over content without signed
// attributes, carrying certs (the signer's first): what OpenSSL's
// PKCS7_sign gives with PKCS7_DETACHED|PKCS7_NOATTR|PKCS7_BINARY, the form
// EDK2 verifies authenticated variables with.
func signDetached(content []byte, key crypto.Signer, certs []*x509.Certificate) ([]byte, error) {
	sd, err := pkcs7.Sign(key, certs, pkcs7.Content{Type: pkcs7.OIDData, DER: content, Detached: true}, nil)
	if err != nil {
		return nil, err
	}
	return sd.Marshal()
}
