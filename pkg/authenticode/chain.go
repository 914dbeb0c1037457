package authenticode

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
)

// maxChainDepth bounds the certificates between a signer and its trust
// anchor, so that a signature carrying many certificates cannot make the
// search long.
const maxChainDepth = 8

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
//   - each certificate is signed by the next (SHA-1 certificate signatures
//     are refused: crypto/x509 no longer verifies them), which must be a CA
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
	chain, err := extendChain([]*x509.Certificate{s.Signer}, pool, roots)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return chain, nil
}

var errNoPath = errors.New("no chain of signatures leads to a given certificate")

// extendChain finds a way from the last certificate of chain to a root,
// depth first, each intermediate used at most once.
func extendChain(chain, pool, roots []*x509.Certificate) ([]*x509.Certificate, error) {
	c := chain[len(chain)-1]
	if len(c.UnhandledCriticalExtensions) > 0 {
		return nil, fmt.Errorf("certificate %s has an unsupported critical extension %v", c.Subject, c.UnhandledCriticalExtensions[0])
	}
	for _, r := range roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return chain, nil
		}
	}
	if len(chain) > maxChainDepth {
		return nil, fmt.Errorf("%w within %d certificates", errNoPath, maxChainDepth)
	}
	var first error
	for _, r := range roots {
		if err := issued(chain, r); err == nil {
			return append(chain, r), nil
		} else if first == nil {
			first = err
		}
	}
	for _, p := range pool {
		if contains(chain, p) {
			continue
		}
		if err := issued(chain, p); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if full, err := extendChain(append(chain[:len(chain):len(chain)], p), pool, roots); err == nil {
			return full, nil
		} else if first == nil {
			first = err
		}
	}
	if first == nil || errors.Is(first, errNotIssuer) {
		return nil, errNoPath
	}
	return nil, first
}

var errNotIssuer = errors.New("not the issuer")

// issued checks that parent signed the last certificate of chain and may
// sign certificates at this depth. Dates are not looked at.
func issued(chain []*x509.Certificate, parent *x509.Certificate) error {
	c := chain[len(chain)-1]
	if !bytes.Equal(c.RawIssuer, parent.RawSubject) {
		return errNotIssuer
	}
	// CheckSignatureFrom also requires parent to be a CA with keyCertSign
	// (when it has a key usage), and refuses SHA-1 signatures.
	if err := c.CheckSignatureFrom(parent); err != nil {
		return fmt.Errorf("certificate %s is not validly signed by %s: %w", c.Subject, parent.Subject, err)
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
