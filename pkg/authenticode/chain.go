package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
)

// Bounds on the chain search, so that a signature carrying many
// certificates that sign each other cannot make it long: the certificates
// between a signer and its trust anchor, and the signatures checked in all
// (crypto/x509 stops at 100 too).
const (
	maxChainDepth     = 8
	maxChainSignature = 100
)

// TrustChain returns a chain from the signer to one of roots, the signer's
// certificate first and the trusted one last, built from the certificates
// the signature carries. It checks what UEFI firmware (EDK2 with OpenSSL)
// checks, under one rule for every certificate:
//
//   - validity dates are not enforced, for the signer, the intermediates
//     and the roots alike: firmware has no trusted clock (EDK2 verifies
//     with X509_V_FLAG_NO_CHECK_TIME), so an expired or not yet valid
//     certificate is accepted, as sbverify accepts it;
//   - any certificate of the chain may be the trusted one (EDK2's
//     X509_V_FLAG_PARTIAL_CHAIN): db may hold a CA, an intermediate or the
//     signing certificate itself;
//   - each certificate is signed by the next (a SHA-1 signature is checked
//     too, and makes the signature legacy), which must be a CA
//     allowed to sign certificates (basic constraints, keyCertSign when key
//     usage is present) within its path length;
//   - a certificate with a critical extension nobody here understands, or
//     a CA with name constraints, is refused rather than half checked.
//
// Key usages of the signer are left to the legacy rules (see ErrLegacy).
func (s *Signature) TrustChain(roots []*x509.Certificate) ([]*x509.Certificate, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no certificates given", ErrUntrusted)
	}
	var pool []*x509.Certificate
	for _, c := range s.Certificates {
		if c != s.Signer {
			pool = append(pool, c)
		}
	}
	search := &chainSearch{pool: pool, roots: roots, checks: maxChainSignature}
	chain, err := search.extend([]*x509.Certificate{s.Signer})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return chain, nil
}

var errNoPath = errors.New("no chain of signatures leads to a given certificate")

// chainSearch looks for a chain from a signer to one of roots through the
// certificates of pool, within a budget of signature checks.
type chainSearch struct {
	pool, roots []*x509.Certificate
	checks      int
}

// extend finds a way from the last certificate of chain to a root, depth
// first, each intermediate used at most once.
func (cs *chainSearch) extend(chain []*x509.Certificate) ([]*x509.Certificate, error) {
	c := chain[len(chain)-1]
	if len(c.UnhandledCriticalExtensions) > 0 {
		return nil, fmt.Errorf("certificate %s has an unsupported critical extension %v", c.Subject, c.UnhandledCriticalExtensions[0])
	}
	for _, r := range cs.roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return chain, nil
		}
	}
	if len(chain) > maxChainDepth {
		return nil, fmt.Errorf("%w within %d certificates", errNoPath, maxChainDepth)
	}
	var first error
	for _, r := range cs.roots {
		if err := cs.issued(chain, r); err == nil {
			return append(chain, r), nil
		} else if first == nil {
			first = err
		}
	}
	for _, p := range cs.pool {
		if contains(chain, p) {
			continue
		}
		if err := cs.issued(chain, p); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if full, err := cs.extend(append(chain[:len(chain):len(chain)], p)); err == nil {
			return full, nil
		} else if first == nil {
			first = err
		}
	}
	if cs.checks < 0 {
		return nil, errTooManyChecks
	}
	if first == nil || errors.Is(first, errNotIssuer) {
		return nil, errNoPath
	}
	return nil, first
}

var errTooManyChecks = fmt.Errorf("gave up after %d certificate signature checks", maxChainSignature)

var errNotIssuer = errors.New("not the issuer")

// issued checks that parent signed the last certificate of chain and may
// sign certificates at this depth. Dates are not looked at.
func (cs *chainSearch) issued(chain []*x509.Certificate, parent *x509.Certificate) error {
	c := chain[len(chain)-1]
	if !bytes.Equal(c.RawIssuer, parent.RawSubject) {
		return errNotIssuer
	}
	if cs.checks--; cs.checks < 0 {
		return errTooManyChecks
	}
	// CheckSignatureFrom also requires parent to be a CA with keyCertSign
	// (when it has a key usage), then refuses SHA-1 signatures unchecked:
	// those are checked here, and called legacy (see legacy).
	if err := c.CheckSignatureFrom(parent); err != nil {
		var insecure x509.InsecureAlgorithmError
		if !errors.As(err, &insecure) || checkSHA1Signature(c, parent) != nil {
			return fmt.Errorf("certificate %s is not validly signed by %s: %w", c.Subject, parent.Subject, err)
		}
	}
	// Path length: the CAs chain[1:] sit between c and parent.
	if parent.BasicConstraintsValid && parent.MaxPathLen >= 0 && len(chain)-1 > parent.MaxPathLen {
		return fmt.Errorf("certificate %s allows %d intermediate CAs below it, the chain has %d", parent.Subject, parent.MaxPathLen, len(chain)-1)
	}
	if hasNameConstraints(parent) {
		return fmt.Errorf("certificate %s has name constraints, which are not supported", parent.Subject)
	}
	return nil
}

// checkSHA1Signature verifies a certificate signature made with SHA-1,
// which crypto/x509 no longer does.
func checkSHA1Signature(c, parent *x509.Certificate) error {
	digest := sha1.Sum(c.RawTBSCertificate)
	switch pub := parent.PublicKey.(type) {
	case *rsa.PublicKey:
		if c.SignatureAlgorithm == x509.SHA1WithRSA {
			return rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest[:], c.Signature)
		}
	case *ecdsa.PublicKey:
		if c.SignatureAlgorithm == x509.ECDSAWithSHA1 && ecdsa.VerifyASN1(pub, digest[:], c.Signature) {
			return nil
		}
	}
	return fmt.Errorf("%w: certificate signature %v", ErrUnsupportedAlgo, c.SignatureAlgorithm)
}

func hasNameConstraints(c *x509.Certificate) bool {
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
		len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0
}

func contains(chain []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range chain {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}
