package tpmkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ErrUnsupportedKey is returned for a TPM key this package does not sign
// with (not a signing key, not RSA 2048..4096 or ECDSA P-256, or one that
// needs a policy).
var ErrUnsupportedKey = errors.New("unsupported TPM key")

// ErrBadSignature is returned when the TPM's signature does not verify
// under the key's public key.
var ErrBadSignature = errors.New("TPM returned a signature that does not verify")

// Signer signs with a key inside a TPM. It is safe for concurrent use (one
// command at a time). Close flushes a loaded blob; a persistent key stays.
type Signer struct {
	mu      sync.Mutex
	tpm     transport.TPM
	key     tpm2.NamedHandle
	pub     crypto.PublicKey
	flushed bool
	loaded  bool // flush key on Close
}

// LoadBlob loads b into the TPM under the owner SRK.
func LoadBlob(t transport.TPM, b *Blob) (*Signer, error) {
	t = Retrying(t)
	pub, err := b.PublicKey()
	if err != nil {
		return nil, err
	}
	obj, err := load(t, b)
	if err != nil {
		return nil, err
	}
	return &Signer{tpm: t, key: obj, pub: pub, loaded: true}, nil
}

// OpenHandle uses the persistent key at handle.
func OpenHandle(t transport.TPM, handle uint32) (*Signer, error) {
	t = Retrying(t)
	if handle < 0x81000000 || handle > 0x81FFFFFF {
		return nil, fmt.Errorf("handle %#x is not a persistent handle (0x81000000 to 0x81FFFFFF)", handle)
	}
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("reading the key at %#x: %w", handle, err)
	}
	p, err := rsp.OutPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("key at %#x: %w", handle, err)
	}
	pub, err := publicKey(p)
	if err != nil {
		return nil, fmt.Errorf("key at %#x: %w", handle, err)
	}
	return &Signer{tpm: t, key: tpm2.NamedHandle{Handle: tpm2.TPMHandle(handle), Name: rsp.Name}, pub: pub}, nil
}

// publicKey checks p is a key this package signs with and returns it.
func publicKey(p *tpm2.TPMTPublic) (crypto.PublicKey, error) {
	a := p.ObjectAttributes
	if !a.SignEncrypt || a.Decrypt || a.Restricted {
		return nil, fmt.Errorf("%w: not an unrestricted signing key", ErrUnsupportedKey)
	}
	if !a.UserWithAuth {
		return nil, fmt.Errorf("%w: the key is usable only through a policy", ErrUnsupportedKey)
	}
	pub, err := tpm2.Pub(*p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 4096 {
			return nil, fmt.Errorf("%w: RSA key of %d bits", ErrUnsupportedKey, n)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA key on %s, only P-256", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	return pub, nil
}

// Public returns the key's public key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest, a hash made with opts.HashFunc(): RSASSA-PKCS1-v1_5
// for an RSA key (RSA-PSS when opts is *rsa.PSSOptions), ECDSA (ASN.1
// encoded, as crypto/ecdsa) for an EC key. rand is unused: the TPM draws
// its own randomness.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	halg, err := hashAlg(h)
	if err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("digest is %d bytes, want %d for %v", len(digest), h.Size(), h)
	}
	scheme := tpm2.TPMAlgRSASSA
	_, pss := opts.(*rsa.PSSOptions)
	switch s.pub.(type) {
	case *ecdsa.PublicKey:
		scheme = tpm2.TPMAlgECDSA
	case *rsa.PublicKey:
		if pss {
			scheme = tpm2.TPMAlgRSAPSS
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushed {
		return nil, errors.New("TPM key is closed")
	}
	rsp, err := tpm2.Sign{
		KeyHandle: tpm2.AuthHandle{Handle: s.key.Handle, Name: s.key.Name, Auth: tpm2.PasswordAuth(nil)},
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme:  scheme,
			Details: tpm2.NewTPMUSigScheme(scheme, &tpm2.TPMSSchemeHash{HashAlg: halg}),
		},
		// An unrestricted key needs no proof that the TPM made the digest.
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	}.Execute(s.tpm)
	if err != nil {
		return nil, fmt.Errorf("TPM2_Sign: %w", err)
	}
	sig, err := encode(rsp.Signature, scheme)
	if err != nil {
		return nil, err
	}
	if err := verify(s.pub, h, digest, sig, pss); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return sig, nil
}

// encode turns the TPM's signature into crypto.Signer's encoding.
func encode(sig tpm2.TPMTSignature, scheme tpm2.TPMAlgID) ([]byte, error) {
	if sig.SigAlg != scheme {
		return nil, fmt.Errorf("%w: scheme %v, asked for %v", ErrBadSignature, sig.SigAlg, scheme)
	}
	switch scheme {
	case tpm2.TPMAlgRSASSA:
		r, err := sig.Signature.RSASSA()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return r.Sig.Buffer, nil
	case tpm2.TPMAlgRSAPSS:
		r, err := sig.Signature.RSAPSS()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return r.Sig.Buffer, nil
	}
	e, err := sig.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(e.SignatureR.Buffer),
		new(big.Int).SetBytes(e.SignatureS.Buffer),
	})
}

func verify(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte, pss bool) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

func hashAlg(h crypto.Hash) (tpm2.TPMIAlgHash, error) {
	switch h {
	case crypto.SHA1:
		return tpm2.TPMAlgSHA1, nil
	case crypto.SHA256:
		return tpm2.TPMAlgSHA256, nil
	case crypto.SHA384:
		return tpm2.TPMAlgSHA384, nil
	case crypto.SHA512:
		return tpm2.TPMAlgSHA512, nil
	}
	return 0, fmt.Errorf("%w: hash %v", ErrUnsupportedKey, h)
}

// Close flushes a key loaded from a blob. It does not close the transport.
func (s *Signer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushed {
		return nil
	}
	s.flushed = true
	if s.loaded {
		_, err := tpm2.FlushContext{FlushHandle: s.key.Handle}.Execute(s.tpm)
		return err
	}
	return nil
}
