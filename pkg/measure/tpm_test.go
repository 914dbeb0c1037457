package measure

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/nix-boot-security/nix-boot-security/internal/tpm/sealing"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// bootedImage is the UKI whose policy is signed in the TPM tests.
var bootedImage = image{
	uki.SectionLinux:   pseudoRandom(50_000, 7),
	uki.SectionOSRel:   []byte("ID=nixos\n"),
	uki.SectionCmdline: []byte("init=/nix/store/abc-nixos-system/init quiet"),
	uki.SectionInitrd:  pseudoRandom(20_000, 8),
}

// oneByteOff is bootedImage with the last byte of .cmdline changed.
func oneByteOff() image {
	im := image{}
	for k, v := range bootedImage {
		im[k] = v
	}
	c := bytes.Clone(bootedImage[uki.SectionCmdline])
	c[len(c)-1] ^= 1
	im[uki.SectionCmdline] = c
	return im
}

// activeBanks returns the banks in which swtpm has PCR 11 allocated.
func activeBanks(t *testing.T, tpm transport.TPM) []Bank {
	t.Helper()
	var out []Bank
	for _, b := range AllBanks {
		rsp, err := tpm2.PCRRead{PCRSelectionIn: PCRSelection(b)}.Execute(tpm)
		if err != nil {
			t.Fatalf("PCR_Read %s: %v", b, err)
		}
		if len(rsp.PCRValues.Digests) == 1 {
			out = append(out, b)
		}
	}
	return out
}

// extendAll extends PCR 11 of bank b with each digest, as the stub and
// systemd-pcrphase would during boot.
func extendAll(t *testing.T, tpm transport.TPM, b Bank, log [][]byte) {
	t.Helper()
	for _, d := range log {
		_, err := tpm2.PCRExtend{
			PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(PCRKernelBoot), Auth: tpm2.PasswordAuth(nil)},
			Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{
				HashAlg: b.TPMAlg(),
				Digest:  d,
			}}},
		}.Execute(tpm)
		if err != nil {
			t.Fatalf("PCR_Extend %s: %v", b, err)
		}
	}
}

func readPCR11(t *testing.T, tpm transport.TPM, b Bank) []byte {
	t.Helper()
	rsp, err := tpm2.PCRRead{PCRSelectionIn: PCRSelection(b)}.Execute(tpm)
	if err != nil {
		t.Fatalf("PCR_Read %s: %v", b, err)
	}
	return rsp.PCRValues.Digests[0].Buffer
}

// TestSignedPolicyInTPM boots (extends PCR 11 with the events of) an image
// in swtpm and satisfies the policy signed for bootedImage: load the public
// key (TPM2_LoadExternal), TPM2_VerifySignature of the signed policy,
// PolicyPCR + PolicyAuthorize in a policy session, whose digest must then
// be AuthorizePolicyDigest. With a .cmdline one byte off, PolicyAuthorize
// must fail.
//
// For the sha256 bank this is exactly systemd's unlock path (key with
// nameAlg SHA-256, RSASSA-SHA256). systemd-measure signs other banks with
// their own hash, which systemd cannot use; for those the key is loaded
// with that hash as nameAlg, which makes the TPM accept them too.
func TestSignedPolicyInTPM(t *testing.T) {
	key := newTestKey(t)
	pub := &key.priv.PublicKey
	phase := Phase(PhaseEnterInitrd)

	signed := predictCase(t, bootedImage, nil, []string{string(phase)})
	sig, err := Sign(key.priv, nil, signed)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		booted image
		ok     bool
	}{
		{"same image", bootedImage, true},
		{"cmdline one byte off", oneByteOff(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := startSWTPM(t)
			tpm, err := emu.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer tpm.Close()
			banks := activeBanks(t, tpm)
			if !containsBank(banks, SHA256) {
				t.Fatalf("swtpm has no sha256 PCR bank (active: %v)", banks)
			}
			booted := predictCase(t, tc.booted, nil, []string{string(phase)})
			for _, b := range banks {
				t.Run(b.String(), func(t *testing.T) {
					extendAll(t, tpm, b, booted.EventLog(b, phase))
					want, _ := booted.Lookup(b, phase)
					if got := readPCR11(t, tpm, b); !bytes.Equal(got, want) {
						t.Fatalf("PCR 11 in swtpm %x, predicted %x", got, want)
					}
					entries := sig.Entries(b)
					if len(entries) != 1 {
						t.Fatalf("%d signatures for bank %s, want 1", len(entries), b)
					}
					// The disk secret is sealed to "PCR 11 as signed by
					// this key", the way systemd-cryptenroll
					// --tpm2-public-key does for the sha256 bank.
					var obj sealing.Object
					secret := []byte("disk key " + tc.name)
					if b == SHA256 {
						authPol, err := AuthorizePolicyDigest(pub)
						if err != nil {
							t.Fatal(err)
						}
						obj = seal(t, tpm, secret, authPol)
					}
					unsealed := false
					err := satisfyPolicy(t, tpm, b, pub, entries[0], func(sess tpm2.Session) {
						if b != SHA256 {
							return
						}
						rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: obj.Handle, Name: obj.Name, Auth: sess}}.Execute(tpm)
						if err != nil {
							t.Fatalf("Unseal with the authorized session: %v", err)
						}
						if !bytes.Equal(rsp.OutData.Buffer, secret) {
							t.Fatalf("unsealed %q, want %q", rsp.OutData.Buffer, secret)
						}
						unsealed = true
					})
					if tc.ok {
						if err != nil {
							t.Fatalf("policy not satisfied: %v", err)
						}
						if b == SHA256 && !unsealed {
							t.Fatal("secret not unsealed")
						}
						return
					}
					if err == nil {
						t.Fatal("policy satisfied for a different .cmdline")
					}
					// TPM_RC_VALUE on approvedPolicy: the session's
					// digest is not the signed one (Part 3, 23.16).
					if !errors.Is(err, tpm2.TPMRCValue) {
						t.Fatalf("unexpected failure: %v", err)
					}
					t.Logf("refused as it should be: %v", err)
					// Nor does the signature cover the policy of the
					// image actually booted.
					bootedPol, err := PolicyPCRDigest(b, want)
					if err != nil {
						t.Fatal(err)
					}
					key, flush := loadKey(t, tpm, b, pub)
					defer flush()
					if _, err := verifyInTPM(tpm, b, key, bootedPol, entries[0].Signature); !errors.Is(err, tpm2.TPMRCSignature) {
						t.Fatalf("VerifySignature over the booted policy: got %v, want TPM_RC_SIGNATURE", err)
					}
				})
			}
		})
	}
}

func containsBank(bs []Bank, b Bank) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// loadKey loads pub as systemd does, but with the bank's hash as nameAlg:
// the ticket of VerifySignature is over the digest given, and
// PolicyAuthorize recomputes that digest with keySign's nameAlg, so the two
// hashes must agree (for sha256 this is systemd's exact key).
// The caller flushes it with the returned function: swtpm holds only three
// transient objects.
func loadKey(t *testing.T, tpm transport.TPM, b Bank, pub *rsa.PublicKey) (*tpm2.LoadExternalResponse, func()) {
	t.Helper()
	tpub, err := TPMPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	tpub.NameAlg = b.TPMAlg()
	loaded, err := tpm2.LoadExternal{InPublic: tpm2.New2B(tpub), Hierarchy: tpm2.TPMRHOwner}.Execute(tpm)
	if err != nil {
		t.Fatalf("LoadExternal: %v", err)
	}
	flush := func() { tpm2.FlushContext{FlushHandle: loaded.ObjectHandle}.Execute(tpm) }
	if b == SHA256 {
		name, err := KeyName(pub)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(loaded.Name.Buffer, name) {
			flush()
			t.Fatalf("TPM key name %x, KeyName %x", loaded.Name.Buffer, name)
		}
	}
	return loaded, flush
}

// verifyInTPM runs TPM2_VerifySignature of sig over H_bank(pol).
func verifyInTPM(tpm transport.TPM, b Bank, key *tpm2.LoadExternalResponse, pol, sig []byte) (*tpm2.VerifySignatureResponse, error) {
	return tpm2.VerifySignature{
		KeyHandle: tpm2.NamedHandle{Handle: key.ObjectHandle, Name: key.Name},
		Digest:    tpm2.TPM2BDigest{Buffer: digest(b, pol)},
		Signature: tpm2.TPMTSignature{
			SigAlg: tpm2.TPMAlgRSASSA,
			Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgRSASSA, &tpm2.TPMSSignatureRSA{
				Hash: b.TPMAlg(),
				Sig:  tpm2.TPM2BPublicKeyRSA{Buffer: sig},
			}),
		},
	}.Execute(tpm)
}

// satisfyPolicy runs systemd's unlock sequence for one signed entry and
// returns the TPM's refusal, if any; on success it calls use with the
// policy session before closing it. The checks that must hold either way
// (key name, signature ticket) fail the test directly.
func satisfyPolicy(t *testing.T, tpm transport.TPM, b Bank, pub *rsa.PublicKey, e SignedPolicy, use func(tpm2.Session)) error {
	t.Helper()
	key, flush := loadKey(t, tpm, b, pub)
	defer flush()
	vs, err := verifyInTPM(tpm, b, key, e.Policy, e.Signature)
	if err != nil {
		t.Fatalf("VerifySignature of the signed policy: %v", err)
	}

	sess, closeSess, err := tpm2.PolicySession(tpm, tpm2.TPMAlgSHA256, 16)
	if err != nil {
		t.Fatalf("StartAuthSession: %v", err)
	}
	defer closeSess()
	if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: PCRSelection(b)}).Execute(tpm); err != nil {
		t.Fatalf("PolicyPCR: %v", err)
	}
	pcrDigest, err := tpm2.PolicyGetDigest{PolicySession: sess.Handle()}.Execute(tpm)
	if err != nil {
		t.Fatalf("PolicyGetDigest: %v", err)
	}
	matches := bytes.Equal(pcrDigest.PolicyDigest.Buffer, e.Policy)

	_, err = tpm2.PolicyAuthorize{
		PolicySession:  sess.Handle(),
		ApprovedPolicy: tpm2.TPM2BDigest{Buffer: e.Policy},
		KeySign:        key.Name,
		CheckTicket:    vs.Validation,
	}.Execute(tpm)
	if err != nil {
		if matches {
			t.Fatalf("PolicyAuthorize refused although PolicyPCR gave the signed policy: %v", err)
		}
		return err
	}
	if !matches {
		t.Fatalf("PolicyAuthorize accepted a policy digest %x != signed %x", pcrDigest.PolicyDigest.Buffer, e.Policy)
	}
	final, err := tpm2.PolicyGetDigest{PolicySession: sess.Handle()}.Execute(tpm)
	if err != nil {
		t.Fatalf("PolicyGetDigest: %v", err)
	}
	want := authorizeDigestWithName(t, key.Name.Buffer)
	if b == SHA256 {
		// What a disk key enrolled with this public key is sealed to.
		var err error
		if want, err = AuthorizePolicyDigest(pub); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(final.PolicyDigest.Buffer, want) {
		t.Fatalf("session policy %x, want authorized policy %x", final.PolicyDigest.Buffer, want)
	}
	if use != nil {
		use(sess)
	}
	return nil
}

func seal(t *testing.T, tpm transport.TPM, secret, authPolicy []byte) sealing.Object {
	t.Helper()
	obj, closeObj, err := sealing.Seal(tpm, secret, authPolicy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeObj)
	return obj
}

func authorizeDigestWithName(t *testing.T, name []byte) []byte {
	t.Helper()
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := (tpm2.PolicyAuthorize{KeySign: tpm2.TPM2BName{Buffer: name}}).Update(calc); err != nil {
		t.Fatal(err)
	}
	return calc.Hash().Digest
}
