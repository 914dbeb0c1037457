package tpmkey

import (
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// MaxBlob bounds a key blob file: a TPM2B_PUBLIC and a TPM2B_PRIVATE are
// each at most 64 KiB by their 16-bit sizes, and far less in practice.
const MaxBlob = 256 << 10

// PEMType is the PEM block type of a key blob.
const PEMType = "TSS2 PRIVATE KEY"

// OIDLoadableKey is TSSPrivKey's type for a key loaded under its parent
// with TPM2_Load.
var OIDLoadableKey = asn1.ObjectIdentifier{2, 23, 133, 10, 1, 3}

// ParentOwner is TPM_RH_OWNER: the parent is the owner hierarchy's SRK.
const ParentOwner = 0x40000001

// ErrMalformedBlob is wrapped by every error about a key blob's contents.
var ErrMalformedBlob = errors.New("malformed TPM key blob")

// tssPrivKey is the ASN.1 TSSPrivKey: policies, secrets and descriptions
// are optional fields this package never writes and refuses to read (a key
// with a policy needs a session this package does not build).
type tssPrivKey struct {
	Type       asn1.ObjectIdentifier
	EmptyAuth  bool          `asn1:"explicit,tag:0,optional"`
	Policy     asn1.RawValue `asn1:"explicit,tag:1,optional"`
	Secret     asn1.RawValue `asn1:"explicit,tag:2,optional"`
	AuthPolicy asn1.RawValue `asn1:"explicit,tag:3,optional"`
	Parent     int64
	PubKey     []byte
	PrivKey    []byte
}

// Blob is a key created under the owner SRK: its TPM2B_PUBLIC and
// TPM2B_PRIVATE as the TPM returned them.
type Blob struct {
	Public  tpm2.TPM2BPublic
	Private tpm2.TPM2BPrivate
}

// Marshal encodes b as a PEM TSS2 PRIVATE KEY.
func (b *Blob) Marshal() ([]byte, error) {
	der, err := asn1.Marshal(tssPrivKey{
		Type:      OIDLoadableKey,
		EmptyAuth: true,
		Parent:    ParentOwner,
		PubKey:    tpm2.Marshal(b.Public),
		PrivKey:   tpm2.Marshal(b.Private),
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMType, Bytes: der}), nil
}

// ParseBlob decodes a PEM TSS2 PRIVATE KEY this package can load: a
// loadable key under the owner SRK, with an empty authorization value and
// no policy, whose public area is a signing key this package signs with.
func ParseBlob(data []byte) (*Blob, error) {
	if len(data) > MaxBlob {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformedBlob, len(data), MaxBlob)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != PEMType {
		return nil, fmt.Errorf("%w: no PEM %q block", ErrMalformedBlob, PEMType)
	}
	var k tssPrivKey
	rest, err := asn1.Unmarshal(block.Bytes, &k)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedBlob, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the key", ErrMalformedBlob, len(rest))
	}
	switch {
	case !k.Type.Equal(OIDLoadableKey):
		return nil, fmt.Errorf("%w: type %v, only loadable keys (%v) are supported", ErrMalformedBlob, k.Type, OIDLoadableKey)
	case !k.EmptyAuth:
		return nil, fmt.Errorf("%w: the key has an authorization value; only keys with an empty one are supported", ErrMalformedBlob)
	case len(k.Policy.FullBytes) > 0 || len(k.Secret.FullBytes) > 0 || len(k.AuthPolicy.FullBytes) > 0:
		return nil, fmt.Errorf("%w: keys with policies or imported secrets are not supported", ErrMalformedBlob)
	case k.Parent != ParentOwner:
		return nil, fmt.Errorf("%w: parent %#x, only the owner SRK (%#x) is supported", ErrMalformedBlob, k.Parent, ParentOwner)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](k.PubKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %w", ErrMalformedBlob, err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](k.PrivKey)
	if err != nil {
		return nil, fmt.Errorf("%w: private area: %w", ErrMalformedBlob, err)
	}
	b := &Blob{Public: *pub, Private: *priv}
	if _, err := b.PublicKey(); err != nil {
		return nil, err
	}
	return b, nil
}

// PublicKey returns the key's public key, refusing a public area this
// package cannot sign with.
func (b *Blob) PublicKey() (any, error) {
	p, err := b.Public.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %w", ErrMalformedBlob, err)
	}
	return publicKey(p)
}
