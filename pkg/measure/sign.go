package measure

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// Sign signs the PolicyPCR digest of every value of p with key, as
// systemd-measure sign of the stub's version does: per phase path and bank
// one entry {pcrs:[11], pkfp, pol, sig} with sig = RSASSA-PKCS1-v1_5 over
// H_bank(pol) up to systemd 259, over SHA256(pol) in every bank from 260
// (Rules.SignSHA256; systemd PR 41051: systemd-cryptsetup only verifies
// SHA-256 signatures, so the other banks' entries were unusable). pub, when not nil, must be key's public key (it is what
// ends up in .pcrpkey); nil takes it from key. RSA signatures of this kind
// are deterministic: the same inputs give the same bytes.
func Sign(key crypto.Signer, pub crypto.PublicKey, p *Prediction) (PCRSig, error) {
	if key == nil {
		return PCRSig{}, fmt.Errorf("%w (got no key)", ErrNotRSA)
	}
	if _, err := rsaPublic(key.Public()); err != nil {
		return PCRSig{}, err
	}
	if pub == nil {
		pub = key.Public()
	}
	rpub, err := rsaPublic(pub)
	if err != nil {
		return PCRSig{}, fmt.Errorf("public key: %w", err)
	}
	if !rpub.Equal(key.Public()) {
		return PCRSig{}, ErrKeyMismatch
	}
	fp, err := Fingerprint(rpub)
	if err != nil {
		return PCRSig{}, err
	}
	var out PCRSig
	for _, v := range p.Values {
		pol, err := PolicyPCRDigest(v.Bank, v.PCR)
		if err != nil {
			return PCRSig{}, err
		}
		h := v.Bank
		if p.Rules.SignSHA256 {
			h = SHA256
		}
		sig, err := key.Sign(rand.Reader, digest(h, pol), h.Hash())
		if err != nil {
			return PCRSig{}, fmt.Errorf("signing %s policy for phase %s: %w", v.Bank, v.Phase, err)
		}
		// Check our own signature: a signer backed by something else (an
		// HSM, a remote service) could hand back garbage.
		if err := rsa.VerifyPKCS1v15(rpub, h.Hash(), digest(h, pol), sig); err != nil {
			return PCRSig{}, fmt.Errorf("signing %s policy for phase %s: %w: %w", v.Bank, v.Phase, ErrBadSignature, err)
		}
		// Entries are appended, not merged: systemd-measure lists one per
		// phase path even when two paths give the same value.
		out.appendEntry(v.Bank, SignedPolicy{PCRs: []int{PCRKernelBoot}, KeyFingerprint: fp, Policy: pol, Signature: sig})
	}
	return out, nil
}

// Verify checks every entry of s made by pub (entries whose pkfp is pub's
// Fingerprint): the signature must verify over the policy with the bank's
// hash or, as systemd 260 and later sign every bank, with SHA-256. It returns how many entries it checked; entries of other keys are
// skipped, and none at all is not an error here.
func (s PCRSig) Verify(pub crypto.PublicKey) (int, error) {
	rpub, err := rsaPublic(pub)
	if err != nil {
		return 0, err
	}
	fp, err := Fingerprint(rpub)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, bs := range s.Banks {
		for i, e := range bs.Entries {
			if !bytes.Equal(e.KeyFingerprint, fp) {
				continue
			}
			if err := verifyEntry(rpub, bs.Bank, e.Policy, e.Signature); err != nil {
				return n, fmt.Errorf("bank %s entry %d: %w", bs.Bank, i, ErrBadSignature)
			}
			n++
		}
	}
	return n, nil
}

// Covers checks that s holds, for every value of p, an entry signed by pub
// for PCR 11 whose policy is that value's PolicyPCRDigest, with a valid
// signature: what systemd-cryptsetup looks for when it unlocks. The error
// names the first bank and phase path without one.
func (s PCRSig) Covers(p *Prediction, pub crypto.PublicKey) error {
	rpub, err := rsaPublic(pub)
	if err != nil {
		return err
	}
	fp, err := Fingerprint(rpub)
	if err != nil {
		return err
	}
	for _, v := range p.Values {
		pol, err := PolicyPCRDigest(v.Bank, v.PCR)
		if err != nil {
			return err
		}
		found := false
		for _, e := range s.Entries(v.Bank) {
			if len(e.PCRs) != 1 || e.PCRs[0] != PCRKernelBoot || !bytes.Equal(e.KeyFingerprint, fp) || !bytes.Equal(e.Policy, pol) {
				continue
			}
			if verifyEntry(rpub, v.Bank, pol, e.Signature) == nil {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("no valid signature for bank %s, phase %s (PCR 11 %s): %w", v.Bank, v.Phase, v.Hex(), ErrBadSignature)
		}
	}
	return nil
}

// verifyEntry checks a .pcrsig entry's signature over pol: RSASSA with the
// bank's hash (systemd up to 259) or with SHA-256 (260 and later).
func verifyEntry(pub *rsa.PublicKey, b Bank, pol, sig []byte) error {
	err := rsa.VerifyPKCS1v15(pub, b.Hash(), digest(b, pol), sig)
	if err != nil && b != SHA256 {
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest(SHA256, pol), sig) == nil {
			return nil
		}
	}
	return err
}
