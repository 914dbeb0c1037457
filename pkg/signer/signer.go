package signer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
)

// Signer is an open private key: a crypto.Signer that must be closed (a
// token session, a key loaded in a TPM) when the caller is done.
type Signer interface {
	crypto.Signer
	// Close releases the key; signing after Close fails.
	Close() error
	// Description names the key for messages (a path, a URI without its
	// PIN, a TPM handle), never a secret.
	Description() string
	// Warnings lists non-fatal findings for the caller to print (a key
	// or PIN file others can read).
	Warnings() []string
}

// DefaultPINEnv is the environment variable a PKCS#11 PIN is read from
// when the URI has no pin-source.
const DefaultPINEnv = "NIX_UKI_PKCS11_PIN"

// Options tune Open. The zero value is safe.
type Options struct {
	// PINEnv names the environment variable holding a token's PIN
	// (DefaultPINEnv when empty).
	PINEnv string
	// AllowPINValue lets a pkcs11: URI carry its PIN (pin-value=). Off by
	// default: a command line is readable by every user through /proc.
	AllowPINValue bool
	// LookupEnv reads the environment (os.LookupEnv when nil).
	LookupEnv func(string) (string, bool)
}

func (o *Options) lookupEnv(name string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

func (o *Options) pinEnv() string {
	if o.PINEnv != "" {
		return o.PINEnv
	}
	return DefaultPINEnv
}

// Errors callers branch on (exit statuses, messages).
var (
	// ErrNoPKCS11 is returned for a pkcs11: reference by a program built
	// without cgo.
	ErrNoPKCS11 = errors.New("built without PKCS#11 support (CGO_ENABLED=0)")
	// ErrNoToken: no token matches the URI.
	ErrNoToken = errors.New("PKCS#11 token not found")
	// ErrNoObject: no private key on the token matches the URI.
	ErrNoObject = errors.New("PKCS#11 key not found on the token")
	// ErrWrongPIN: the token refused the PIN.
	ErrWrongPIN = errors.New("PKCS#11 token refused the PIN")
	// ErrNoPIN: no PIN source is given.
	ErrNoPIN = errors.New("no PKCS#11 PIN given")
	// ErrPINValue: the URI carries its PIN and that is not allowed.
	ErrPINValue = errors.New("pin-value in a PKCS#11 URI is refused (the PIN would be visible to every user in the process list); use pin-source=file:PATH or the environment")
	// ErrReference: the reference is malformed.
	ErrReference = errors.New("malformed key reference")
)

// Kind is how a reference names its key.
type Kind int

const (
	KindFile   Kind = iota // a private key file
	KindPKCS11             // a pkcs11: URI
	KindTPM                // a tpm: reference
)

// KindOf tells which kind of key ref names: "pkcs11:" and "tpm:" prefixes
// are tokens and TPMs, anything else a file (a file whose name starts
// with one of them is named ./pkcs11:...).
func KindOf(ref string) Kind {
	switch {
	case len(ref) >= len(pkcs11uri.Scheme) && strings.EqualFold(ref[:len(pkcs11uri.Scheme)], pkcs11uri.Scheme):
		return KindPKCS11
	case strings.HasPrefix(ref, TPMScheme):
		return KindTPM
	}
	return KindFile
}

// Open opens the key ref names. The caller closes it.
func Open(ctx context.Context, ref string, opts Options) (Signer, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty", ErrReference)
	}
	switch KindOf(ref) {
	case KindPKCS11:
		u, err := pkcs11uri.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrReference, err)
		}
		return openPKCS11(ctx, u, &opts)
	case KindTPM:
		r, err := ParseTPMRef(ref)
		if err != nil {
			return nil, err
		}
		return openTPM(ctx, r)
	}
	return openFile(ref)
}

// basic is a Signer whose Close runs a function.
type basic struct {
	crypto.Signer
	desc     string
	warnings []string
	close    func() error
}

func (b *basic) Description() string { return b.desc }
func (b *basic) Warnings() []string  { return b.warnings }
func (b *basic) Close() error {
	if b.close == nil {
		return nil
	}
	c := b.close
	b.close = nil
	return c()
}

// openFile loads a private key file through package keys' guard.
func openFile(path string) (Signer, error) {
	k, warnings, err := keys.LoadPrivateKey(path)
	if err != nil {
		return nil, err
	}
	return &basic{Signer: k, desc: path, warnings: warnings}, nil
}
