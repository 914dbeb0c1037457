// Package sealing seals a small secret in a TPM 2.0 so that only a policy
// session with a given digest can unseal it: what systemd-cryptenroll
// --tpm2-public-key does with a disk key, with the digest of
// PolicyAuthorize(the PCR policy signing key).
//
// The TPM is trusted; its failures are returned as errors, never panics.
package sealing

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Object is a sealed secret loaded in the TPM.
type Object struct {
	Handle tpm2.TPMHandle
	Name   tpm2.TPM2BName
}

// Seal creates secret under a fresh ECC storage root key (owner hierarchy,
// empty auth), usable only through a session whose digest is authPolicy.
// close flushes the object and the SRK.
func Seal(tpm transport.TPM, secret, authPolicy []byte) (obj Object, close func(), err error) {
	srk, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(tpm)
	if err != nil {
		return Object{}, nil, fmt.Errorf("CreatePrimary: %w", err)
	}
	flushSRK := func() { tpm2.FlushContext{FlushHandle: srk.ObjectHandle}.Execute(tpm) }
	parent := tpm2.AuthHandle{Handle: srk.ObjectHandle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)}
	created, err := tpm2.Create{
		ParentHandle: parent,
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(tpm2.TPMTPublic{
			Type:             tpm2.TPMAlgKeyedHash,
			NameAlg:          tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{FixedTPM: true, FixedParent: true},
			AuthPolicy:       tpm2.TPM2BDigest{Buffer: authPolicy},
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
				Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull},
			}),
		}),
	}.Execute(tpm)
	if err != nil {
		flushSRK()
		return Object{}, nil, fmt.Errorf("Create: %w", err)
	}
	loaded, err := tpm2.Load{ParentHandle: parent, InPrivate: created.OutPrivate, InPublic: created.OutPublic}.Execute(tpm)
	if err != nil {
		flushSRK()
		return Object{}, nil, fmt.Errorf("Load: %w", err)
	}
	close = func() {
		tpm2.FlushContext{FlushHandle: loaded.ObjectHandle}.Execute(tpm)
		flushSRK()
	}
	return Object{Handle: loaded.ObjectHandle, Name: loaded.Name}, close, nil
}
