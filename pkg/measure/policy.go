package measure

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// PCRSelection is the TPML_PCR_SELECTION of PCR 11 in bank b: one bank,
// sizeofSelect 3 (PCRs 0..23), bit 11 set (TPM 2.0 Part 2, 10.9.7).
func PCRSelection(b Bank) tpm2.TPMLPCRSelection {
	sel := make([]byte, 3)
	sel[PCRKernelBoot/8] |= 1 << (PCRKernelBoot % 8)
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash:      b.TPMAlg(),
		PCRSelect: sel,
	}}}
}

// PolicyPCRDigest returns the policy digest of a fresh SHA-256 policy
// session after TPM2_PolicyPCR on PCR 11 of bank b holding pcrValue:
// SHA256(0^32 || TPM_CC_PolicyPCR || PCRSelection(b) || SHA256(pcrValue))
// (TPM 2.0 Part 3, 23.7). This is the "pol" systemd-measure signs, for
// every bank: the session hash is always SHA-256, only the selection and
// the value come from the bank.
func PolicyPCRDigest(b Bank, pcrValue []byte) ([]byte, error) {
	if !b.valid() {
		return nil, fmt.Errorf("%s: %w", b, ErrUnknownBank)
	}
	if len(pcrValue) != b.Size() {
		return nil, fmt.Errorf("PCR value of %d bytes for bank %s (want %d)", len(pcrValue), b, b.Size())
	}
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		return nil, fmt.Errorf("policy calculator: %w", err)
	}
	pcrDigest := sha256.Sum256(pcrValue)
	cmd := tpm2.PolicyPCR{
		PcrDigest: tpm2.TPM2BDigest{Buffer: pcrDigest[:]},
		Pcrs:      PCRSelection(b),
	}
	if err := cmd.Update(calc); err != nil {
		return nil, fmt.Errorf("PolicyPCR digest: %w", err)
	}
	return calc.Hash().Digest, nil
}

// rsaPublic returns pub as an RSA key, or ErrNotRSA.
func rsaPublic(pub crypto.PublicKey) (*rsa.PublicKey, error) {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w (got %s)", ErrNotRSA, keyType(pub))
	}
	return k, nil
}

func keyType(k any) string {
	switch k.(type) {
	case nil:
		return "no key"
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

// TPMPublic returns the TPMT_PUBLIC systemd loads the PCR signing key as
// (TPM2_LoadExternal in tpm2-util.c): RSA, nameAlg SHA-256, attributes
// decrypt|sign|userWithAuth, no symmetric algorithm, no scheme, the key's
// own size and exponent, the modulus as unique. Its Name is KeyName.
func TPMPublic(pub crypto.PublicKey) (tpm2.TPMTPublic, error) {
	k, err := rsaPublic(pub)
	if err != nil {
		return tpm2.TPMTPublic{}, err
	}
	if k.E <= 0 || int64(k.E) > int64(^uint32(0)) {
		return tpm2.TPMTPublic{}, fmt.Errorf("RSA exponent %d does not fit a TPM key", k.E)
	}
	n := k.N.Bytes()
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgRSA,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			Decrypt:      true,
			SignEncrypt:  true,
			UserWithAuth: true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits:   tpm2.TPMIRSAKeyBits(len(n) * 8),
			// systemd writes the exponent itself, never the "0 means
			// 65537" shorthand; the Name depends on that choice.
			Exponent: uint32(k.E),
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: n}),
	}, nil
}

// KeyName returns the TPM Name of pub loaded as TPMPublic: nameAlg ||
// SHA256(TPMT_PUBLIC) (TPM 2.0 Part 1, 16).
func KeyName(pub crypto.PublicKey) ([]byte, error) {
	p, err := TPMPublic(pub)
	if err != nil {
		return nil, err
	}
	name, err := tpm2.ObjectName(&p)
	if err != nil {
		return nil, fmt.Errorf("key name: %w", err)
	}
	return name.Buffer, nil
}

// AuthorizePolicyDigest returns the policy a secret is sealed to when it is
// bound to "any PCR 11 state signed by pub": TPM2_PolicyAuthorize with
// keySign = KeyName(pub) and an empty policyRef, i.e.
// SHA256(SHA256(0^32 || TPM_CC_PolicyAuthorize || name) || "") (TPM 2.0
// Part 3, 23.16). systemd-cryptenroll --tpm2-public-key seals to this.
func AuthorizePolicyDigest(pub crypto.PublicKey) ([]byte, error) {
	name, err := KeyName(pub)
	if err != nil {
		return nil, err
	}
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		return nil, fmt.Errorf("policy calculator: %w", err)
	}
	cmd := tpm2.PolicyAuthorize{KeySign: tpm2.TPM2BName{Buffer: name}}
	if err := cmd.Update(calc); err != nil {
		return nil, fmt.Errorf("PolicyAuthorize digest: %w", err)
	}
	return calc.Hash().Digest, nil
}

// Fingerprint returns the "pkfp" of pub: SHA-256 of the DER the OpenSSL
// function i2d_PublicKey writes, which for RSA is the PKCS#1 RSAPublicKey
// (not the SubjectPublicKeyInfo of the PEM file). Checked against
// systemd-measure 252.
func Fingerprint(pub crypto.PublicKey) ([]byte, error) {
	k, err := rsaPublic(pub)
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(x509.MarshalPKCS1PublicKey(k))
	return fp[:], nil
}

// PublicKeyPEM returns pub as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// the form of a UKI's .pcrpkey section and of
// /.extra/tpm2-pcr-public-key.pem.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	if _, err := rsaPublic(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
