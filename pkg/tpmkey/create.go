package tpmkey

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Algorithm is the kind of key Create makes.
type Algorithm string

// The keys Create makes: RSA 2048 (Authenticode, .pcrsig, what every
// firmware takes) and ECDSA P-256.
const (
	RSA2048   Algorithm = "rsa2048"
	ECDSAP256 Algorithm = "ecdsa-p256"
)

// ErrAlgorithm is returned for an algorithm Create does not make.
var ErrAlgorithm = errors.New("unsupported TPM key algorithm")

// signingAttributes: a key that never leaves this TPM in the clear, signs
// only, and needs no authorization value.
var signingAttributes = tpm2.TPMAObject{
	FixedTPM:            true,
	FixedParent:         true,
	SensitiveDataOrigin: true,
	UserWithAuth:        true,
	SignEncrypt:         true,
}

func template(alg Algorithm) (tpm2.TPMTPublic, error) {
	switch alg {
	case RSA2048:
		return tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgRSA,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: signingAttributes,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Scheme:  tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
				KeyBits: 2048,
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{}),
		}, nil
	case ECDSAP256:
		return tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgECC,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: signingAttributes,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Scheme:  tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
				CurveID: tpm2.TPMECCNistP256,
				KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
		}, nil
	}
	return tpm2.TPMTPublic{}, fmt.Errorf("%w %q (want %s or %s)", ErrAlgorithm, alg, RSA2048, ECDSAP256)
}

// srk creates the owner hierarchy's SRK from the reference ECC template;
// the caller flushes it.
func srk(t transport.TPM) (tpm2.AuthHandle, error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		return tpm2.AuthHandle{}, fmt.Errorf("creating the storage root key: %w", err)
	}
	return tpm2.AuthHandle{Handle: rsp.ObjectHandle, Name: rsp.Name, Auth: tpm2.PasswordAuth(nil)}, nil
}

func flush(t transport.TPM, h tpm2.TPMHandle) {
	// A failed flush leaves a transient object the resource manager
	// drops when the connection closes; nothing to report.
	_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(t)
}

// Create makes a new signing key of kind alg under the owner SRK and
// returns its blob. The private key is generated inside the TPM and never
// leaves it in the clear.
func Create(t transport.TPM, alg Algorithm) (*Blob, error) {
	t = Retrying(t)
	tmpl, err := template(alg)
	if err != nil {
		return nil, err
	}
	parent, err := srk(t)
	if err != nil {
		return nil, err
	}
	defer flush(t, parent.Handle)
	rsp, err := tpm2.Create{ParentHandle: parent, InPublic: tpm2.New2B(tmpl)}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("creating the key: %w", err)
	}
	return &Blob{Public: rsp.OutPublic, Private: rsp.OutPrivate}, nil
}

// Persist loads b and makes it persistent at handle (0x81000000 to
// 0x81FFFFFF, TPM 2.0 Part 2, 7.3), so that it can be named by handle
// without its blob.
func Persist(t transport.TPM, b *Blob, handle uint32) error {
	t = Retrying(t)
	if handle < 0x81000000 || handle > 0x81FFFFFF {
		return fmt.Errorf("handle %#x is not a persistent handle (0x81000000 to 0x81FFFFFF)", handle)
	}
	obj, err := load(t, b)
	if err != nil {
		return err
	}
	defer flush(t, obj.Handle)
	_, err = tpm2.EvictControl{
		Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		ObjectHandle:     obj,
		PersistentHandle: tpm2.TPMIDHPersistent(handle),
	}.Execute(t)
	if err != nil {
		return fmt.Errorf("making the key persistent at %#x: %w", handle, err)
	}
	return nil
}

// load loads b under a fresh SRK, which is flushed again.
func load(t transport.TPM, b *Blob) (tpm2.NamedHandle, error) {
	parent, err := srk(t)
	if err != nil {
		return tpm2.NamedHandle{}, err
	}
	defer flush(t, parent.Handle)
	rsp, err := tpm2.Load{ParentHandle: parent, InPrivate: b.Private, InPublic: b.Public}.Execute(t)
	if err != nil {
		return tpm2.NamedHandle{}, fmt.Errorf("loading the key (a blob made by another TPM, or a TPM that was cleared since?): %w", err)
	}
	return tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}, nil
}
