package sbkeys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// RefKey is a key on a token or in a TPM that is opened for each
// signature and closed right after, so nothing stays open between uses
// and no close can be forgotten. One connection at a time matters: a
// swtpm serves a single client on its socket, and a set's three keys
// often share one TPM or token.
type RefKey struct {
	ctx      context.Context
	ref      string
	opts     signer.Options
	pub      crypto.PublicKey
	desc     string
	warnings []string
}

// OpenRef opens the key ref names once, to read its public key and prove
// it is there (the token takes the PIN, the TPM loads the key), and
// closes it again.
func OpenRef(ctx context.Context, ref string, opts signer.Options) (*RefKey, error) {
	s, err := signer.Open(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	k := &RefKey{ctx: ctx, ref: ref, opts: opts, pub: s.Public(), desc: s.Description(), warnings: s.Warnings()}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("closing %s: %w", k.desc, err)
	}
	return k, nil
}

// Public is the key's public half, as read by OpenRef.
func (k *RefKey) Public() crypto.PublicKey { return k.pub }

// Sign opens the key, checks it is still the one OpenRef read, signs and
// closes it.
func (k *RefKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	s, err := signer.Open(k.ctx, k.ref, k.opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing %s: %w", k.desc, cerr))
		}
	}()
	if !keys.MatchesPublic(s, k.pub) {
		return nil, fmt.Errorf("%s: the key changed since it was opened", k.desc)
	}
	return s.Sign(rand, digest, opts)
}

// Description names the key for messages, without secrets.
func (k *RefKey) Description() string { return k.desc }

// Warnings are OpenRef's findings (a PIN file others can read).
func (k *RefKey) Warnings() []string { return k.warnings }
