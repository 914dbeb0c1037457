//go:build cgo

package signer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
)

// openPKCS11 logs into the token through crypto11 and finds the key pair.
func openPKCS11(_ context.Context, u *pkcs11uri.URI, opts *Options) (Signer, error) {
	if err := checkPKCS11Selectors(u); err != nil {
		return nil, err
	}
	module, err := pkcs11Module(u)
	if err != nil {
		return nil, err
	}
	pin, warnings, err := pkcs11PIN(u, opts)
	if err != nil {
		return nil, err
	}
	cfg := &crypto11.Config{Path: module, TokenLabel: u.Token, TokenSerial: u.Serial, Pin: pin}
	if u.SlotID != nil {
		n := int(*u.SlotID)
		if uint64(n) != *u.SlotID || n < 0 {
			return nil, fmt.Errorf("%w: slot-id %d out of range", ErrReference, *u.SlotID)
		}
		cfg.SlotNumber = &n
	}
	desc := u.String()
	ctx, err := crypto11.Configure(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc, classify(err, module))
	}
	var id, label []byte
	if u.ID != nil {
		id = u.ID
	}
	if u.Object != "" {
		label = []byte(u.Object)
	}
	found, err := ctx.FindKeyPairs(id, label)
	if err != nil {
		ctx.Close()
		return nil, fmt.Errorf("%s: %w", desc, classify(err, module))
	}
	switch len(found) {
	case 0:
		ctx.Close()
		return nil, fmt.Errorf("%s: %w (no private key with a matching public key)", desc, ErrNoObject)
	case 1:
	default:
		// Signing with whichever the token lists first would be a guess.
		ctx.Close()
		return nil, fmt.Errorf("%w: %s matches %d keys; add id= or object= to name one", ErrReference, desc, len(found))
	}
	k := found[0]
	return &tokenSigner{key: k, ctx: ctx, desc: desc, warnings: warnings}, nil
}

// classify maps crypto11's and the module's errors to this package's.
func classify(err error, module string) error {
	var p11 pkcs11.Error
	if errors.As(err, &p11) {
		switch p11 {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
			return fmt.Errorf("%w (%v)", ErrWrongPIN, p11)
		case pkcs11.CKR_PIN_LOCKED:
			return fmt.Errorf("%w: the PIN is locked (%v)", ErrWrongPIN, p11)
		case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_TOKEN_NOT_RECOGNIZED:
			return fmt.Errorf("%w (%v)", ErrNoToken, p11)
		}
		return fmt.Errorf("PKCS#11: %w", err)
	}
	// crypto11 keeps this error unexported; its text is stable since v1.0.
	if strings.Contains(err.Error(), "could not find PKCS#11 token") {
		return ErrNoToken
	}
	if strings.Contains(err.Error(), "failed to create module context") || strings.Contains(err.Error(), "failed to load module") {
		return fmt.Errorf("loading PKCS#11 module %s: %w", module, err)
	}
	return fmt.Errorf("PKCS#11: %w", err)
}

// tokenSigner is a key pair on a token; Close ends the session.
type tokenSigner struct {
	mu       sync.Mutex
	key      crypto11.Signer
	ctx      *crypto11.Context
	desc     string
	warnings []string
	closed   bool
}

func (s *tokenSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *tokenSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("PKCS#11 key is closed")
	}
	sig, err := s.key.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: signing: %w", s.desc, err)
	}
	return sig, nil
}
func (s *tokenSigner) Description() string { return s.desc }
func (s *tokenSigner) Warnings() []string  { return s.warnings }
func (s *tokenSigner) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.ctx.Close()
}
