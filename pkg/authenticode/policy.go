package authenticode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// minRSABits is the smallest RSA key Sign uses and Verify accepts without
// Options.AllowLegacy.
const minRSABits = 2048

// legacy lists what about a signature and the chain that verified it Sign
// would never make (see ErrLegacy); nil for our own signatures.
//
// Firmware-compatible usages: EDK2 checks no key usage at all (it verifies
// with X509_PURPOSE_ANY), so these rules are ours, loose enough that any
// certificate made for signing code passes: one without keyUsage and
// extendedKeyUsage passes, and one with them must allow digitalSignature,
// and codeSigning or any extended key usage (other usages beside them do
// not matter).
func legacy(s *Signature, chain []*x509.Certificate) []string {
	var out []string
	if s.DigestAlg == crypto.SHA1 {
		out = append(out, "SHA-1 image digest")
	}
	if alg, err := hashFor(s.info.DigestAlgorithm.Algorithm); err == nil && alg != s.DigestAlg {
		out = append(out, fmt.Sprintf("SignerInfo digest algorithm %v differs from the image digest's %v", alg, s.DigestAlg))
	}
	for i, c := range chain {
		if w := weakRSA(c); w != "" {
			out = append(out, w)
		}
		// The trusted certificate's own signature is not checked.
		if sha1Signed(c) && i < len(chain)-1 {
			out = append(out, fmt.Sprintf("certificate %s is signed with SHA-1", c.Subject))
		}
	}
	leaf := chain[0]
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); ok && k.Curve != elliptic.P256() {
		out = append(out, fmt.Sprintf("ECDSA signing key on %s", k.Curve.Params().Name))
	}
	return append(out, signingUsage(leaf)...)
}

// weakRSA describes c's key if it is RSA under minRSABits, else "".
func weakRSA(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return fmt.Sprintf("RSA key of %d bits in certificate %s", k.N.BitLen(), c.Subject)
	}
	return ""
}

// signingUsage lists why the usages of a signing certificate do not allow
// signing code (the rules above); nil when they do.
func signingUsage(c *x509.Certificate) []string {
	var out []string
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		out = append(out, "the signing certificate's key usage lacks digitalSignature")
	}
	if len(c.ExtKeyUsage)+len(c.UnknownExtKeyUsage) > 0 && !codeSigning(c) {
		out = append(out, "the signing certificate's extended key usage lacks codeSigning")
	}
	return out
}

func sha1Signed(c *x509.Certificate) bool {
	return c.SignatureAlgorithm == x509.SHA1WithRSA || c.SignatureAlgorithm == x509.ECDSAWithSHA1
}

func codeSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageCodeSigning || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}
