package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Profile is the kind of certificate made.
type Profile int

const (
	// OrganisationCA is the self-signed root that goes into db.
	OrganisationCA Profile = iota
	// MachineSubCA issues machine certificates (pathLenConstraint 0).
	MachineSubCA
	// Machine signs boot images.
	Machine
)

func (p Profile) String() string {
	switch p {
	case OrganisationCA:
		return "organisation CA"
	case MachineSubCA:
		return "machine sub-CA"
	case Machine:
		return "machine certificate"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// Errors callers branch on.
var (
	ErrKey      = errors.New("unsupported key")
	ErrIssuer   = errors.New("issuer cannot issue this certificate")
	ErrRequest  = errors.New("invalid certificate request")
	ErrMismatch = errors.New("key does not match the issuer certificate")
)

// Request says what certificate to make.
type Request struct {
	Profile   Profile
	Subject   pkix.Name
	PublicKey crypto.PublicKey // the subject's key (for OrganisationCA, the signing key's)
	NotBefore time.Time
	NotAfter  time.Time
}

// CreateCA makes a self-signed organisation CA certificate for key.
func CreateCA(key crypto.Signer, subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	req := Request{Profile: OrganisationCA, Subject: subject, PublicKey: key.Public(), NotBefore: notBefore, NotAfter: notAfter}
	return make1(req, nil, key)
}

// Issue makes a machine certificate or a machine sub-CA for req, signed by
// issuerKey, whose certificate is issuer.
func Issue(issuer *x509.Certificate, issuerKey crypto.Signer, req Request) (*x509.Certificate, error) {
	if req.Profile != Machine && req.Profile != MachineSubCA {
		return nil, fmt.Errorf("%w: Issue makes machine certificates and sub-CAs, not %s", ErrRequest, req.Profile)
	}
	if issuer == nil {
		return nil, fmt.Errorf("%w: no issuer certificate", ErrIssuer)
	}
	if !issuer.IsCA || !issuer.BasicConstraintsValid {
		return nil, fmt.Errorf("%w: %s is not a CA", ErrIssuer, issuer.Subject)
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%w: %s may not sign certificates (no keyCertSign)", ErrIssuer, issuer.Subject)
	}
	if req.Profile == MachineSubCA && issuer.MaxPathLenZero {
		return nil, fmt.Errorf("%w: %s is a sub-CA (path length 0) and may issue only machine certificates", ErrIssuer, issuer.Subject)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := issuerKey.Public().(equaler); !ok || !e.Equal(issuer.PublicKey) {
		return nil, fmt.Errorf("%w (%s)", ErrMismatch, issuer.Subject)
	}
	if req.NotAfter.After(issuer.NotAfter) {
		return nil, fmt.Errorf("%w: valid until %s, after its issuer %s (%s)", ErrRequest, req.NotAfter.UTC().Format(time.DateOnly), issuer.Subject, issuer.NotAfter.UTC().Format(time.DateOnly))
	}
	return make1(req, issuer, issuerKey)
}

// checkKey accepts the keys Authenticode signing accepts.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 4096 {
			return fmt.Errorf("%w: RSA key of %d bits, need 2048 to 4096", ErrKey, n)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: ECDSA key on %s, only P-256", ErrKey, k.Curve.Params().Name)
		}
		return nil
	}
	return fmt.Errorf("%w: %T (use RSA or ECDSA P-256)", ErrKey, pub)
}

// make1 fills the profile's template and signs it (issuer nil: self-signed).
func make1(req Request, issuer *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	if err := checkKey(req.PublicKey); err != nil {
		return nil, err
	}
	if err := checkKey(key.Public()); err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	if req.Subject.CommonName == "" {
		return nil, fmt.Errorf("%w: the subject needs a common name", ErrRequest)
	}
	if req.NotBefore.IsZero() || !req.NotAfter.After(req.NotBefore) {
		return nil, fmt.Errorf("%w: validity %s to %s is empty", ErrRequest, req.NotBefore, req.NotAfter)
	}
	spki, err := x509.MarshalPKIXPublicKey(req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	tmpl := &x509.Certificate{
		Subject:               req.Subject,
		NotBefore:             req.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              req.NotAfter.UTC().Truncate(time.Second),
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(spki),
	}
	switch req.Profile {
	case OrganisationCA:
		tmpl.IsCA = true
		tmpl.MaxPathLen = -1 // no limit: the organisation may add sub-CAs
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	case MachineSubCA:
		tmpl.IsCA = true
		tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	case Machine:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	default:
		return nil, fmt.Errorf("%w: unknown profile %d", ErrRequest, req.Profile)
	}
	parent := tmpl
	if issuer != nil {
		parent = issuer
		tmpl.AuthorityKeyId = issuer.SubjectKeyId
	}
	tmpl.SerialNumber = serial(req, tmpl, parent, spki)
	switch key.Public().(type) {
	case *rsa.PublicKey:
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		tmpl.SignatureAlgorithm = x509.ECDSAWithSHA256
	}
	// rand is only used by ECDSA (and PSS); PKCS#1 v1.5 is deterministic.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, req.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("signing the %s: %w", req.Profile, err)
	}
	return x509.ParseCertificate(der)
}

// keyID is the RFC 5280 4.2.1.2 method 1 key identifier: SHA-1 of the
// subjectPublicKey bit string (not of the whole SubjectPublicKeyInfo),
// as OpenSSL computes it.
func keyID(spki []byte) []byte {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		sum := sha1.Sum(spki)
		return sum[:]
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:]
}

// serial derives a positive 127-bit serial number from what the
// certificate says, so that the same request gives the same certificate
// and two different certificates of one issuer (practically) never share
// a serial.
func serial(req Request, tmpl, parent *x509.Certificate, spki []byte) *big.Int {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	subject, _ := asn1.Marshal(req.Subject.ToRDNSequence())
	issuer := subject
	if parent != tmpl {
		issuer = parent.RawSubject
	}
	field([]byte("nix-boot-security ca serial v1"))
	field(issuer)
	field(subject)
	field(spki)
	field([]byte(tmpl.NotBefore.Format(time.RFC3339)))
	field([]byte(tmpl.NotAfter.Format(time.RFC3339)))
	field([]byte(req.Profile.String()))
	sum := h.Sum(nil)
	sum[0] &= 0x7f
	if bytes.Equal(sum[:16], make([]byte, 16)) {
		sum[15] = 1
	}
	return new(big.Int).SetBytes(sum[:16])
}
