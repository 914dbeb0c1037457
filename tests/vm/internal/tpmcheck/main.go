// Command tpmcheck runs inside the VM tests' initrd (built static, with
// CGO_ENABLED=0) and proves measured boot against the real TPM the VM has
// (swtpm): it prints PCR 11 (sha256) as systemd-stub left it, extends the
// phase word enter-initrd as systemd-pcrphase would and prints PCR 11
// again, then does systemd's unlock sequence with the signed policy the
// stub handed over in /.extra: TPM2_LoadExternal of the public key,
// TPM2_VerifySignature of each signed sha256 policy, TPM2_PolicyPCR and
// TPM2_PolicyAuthorize in a policy session, and unseals a secret sealed to
// "PCR 11 as signed by this key". The TPM decides; tpmcheck only reports.
//
// Output lines (the host test matches them):
//
//	NBS-PCR11-STUB=<hex>
//	NBS-PCR11-ENTER-INITRD=<hex>
//	NBS-POLICY OK
//	NBS-POLICY FAIL: <reason>
//
// Exit status 0 when the policy was satisfied, 1 when the TPM refused it,
// 2 on any other error.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/nix-boot-security/nix-boot-security/internal/tpm/sealing"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
)

// Files systemd-stub 252 puts into the initrd from .pcrsig and .pcrpkey.
const (
	sigFile = "/.extra/tpm2-pcr-signature.json"
	keyFile = "/.extra/tpm2-pcr-public-key.pem"
)

// errRefused marks the TPM refusing the policy (exit status 1).
var errRefused = errors.New("refused")

func main() {
	err := run(os.Stdout)
	switch {
	case err == nil:
		fmt.Println("NBS-POLICY OK")
	case errors.Is(err, errRefused):
		fmt.Printf("NBS-POLICY FAIL: %v\n", err)
		os.Exit(1)
	default:
		fmt.Printf("tpmcheck: error: %v\n", err)
		os.Exit(2)
	}
}

func run(out io.Writer) error {
	tpm, err := openTPM()
	if err != nil {
		return err
	}
	defer tpm.Close()

	pcr, err := readPCR11(tpm)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "NBS-PCR11-STUB=%x\n", pcr)
	// systemd-pcrphase measures the word in every bank; PCR_Event has the
	// TPM hash it with each bank's algorithm.
	_, err = tpm2.PCREvent{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(measure.PCRKernelBoot), Auth: tpm2.PasswordAuth(nil)},
		EventData: tpm2.TPM2BEvent{Buffer: []byte(measure.PhaseEnterInitrd)},
	}.Execute(tpm)
	if err != nil {
		return fmt.Errorf("PCR_Event: %w", err)
	}
	if pcr, err = readPCR11(tpm); err != nil {
		return err
	}
	fmt.Fprintf(out, "NBS-PCR11-ENTER-INITRD=%x\n", pcr)

	sigJSON, err := os.ReadFile(sigFile)
	if err != nil {
		return err
	}
	pemData, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	sig, err := measure.ParsePCRSig(sigJSON)
	if err != nil {
		return err
	}
	pub, err := keys.ParsePublicKey(pemData)
	if err != nil {
		return fmt.Errorf("%s: %w", keyFile, err)
	}
	return unlock(tpm, out, sig.Entries(measure.SHA256), pub)
}

func openTPM() (transport.TPMCloser, error) {
	var errs []error
	for _, p := range []string{"/dev/tpmrm0", "/dev/tpm0"} {
		t, err := linuxtpm.Open(p)
		if err == nil {
			return t, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func readPCR11(tpm transport.TPM) ([]byte, error) {
	rsp, err := tpm2.PCRRead{PCRSelectionIn: measure.PCRSelection(measure.SHA256)}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("PCR_Read: %w", err)
	}
	if len(rsp.PCRValues.Digests) != 1 {
		return nil, errors.New("PCR_Read: no sha256 value for PCR 11")
	}
	return rsp.PCRValues.Digests[0].Buffer, nil
}

// unlock seals a secret to PolicyAuthorize(pub) and tries each signed
// entry as systemd-cryptsetup would: the first one the TPM accepts must
// unseal the secret.
func unlock(tpm transport.TPM, out io.Writer, entries []measure.SignedPolicy, pub any) error {
	if len(entries) == 0 {
		return fmt.Errorf("%w: no sha256 entries in %s", errRefused, sigFile)
	}
	tpub, err := measure.TPMPublic(pub)
	if err != nil {
		return err
	}
	authPolicy, err := measure.AuthorizePolicyDigest(pub)
	if err != nil {
		return err
	}
	secret := []byte("nbs disk key")
	sealed, cleanup, err := sealing.Seal(tpm, secret, authPolicy)
	if err != nil {
		return err
	}
	defer cleanup()

	key, err := tpm2.LoadExternal{InPublic: tpm2.New2B(tpub), Hierarchy: tpm2.TPMRHOwner}.Execute(tpm)
	if err != nil {
		return fmt.Errorf("LoadExternal: %w", err)
	}
	defer tpm2.FlushContext{FlushHandle: key.ObjectHandle}.Execute(tpm)

	var refusals []string
	for i, e := range entries {
		polDigest := sha256.Sum256(e.Policy)
		vs, err := tpm2.VerifySignature{
			KeyHandle: tpm2.NamedHandle{Handle: key.ObjectHandle, Name: key.Name},
			Digest:    tpm2.TPM2BDigest{Buffer: polDigest[:]},
			Signature: tpm2.TPMTSignature{
				SigAlg: tpm2.TPMAlgRSASSA,
				Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgRSASSA, &tpm2.TPMSSignatureRSA{
					Hash: tpm2.TPMAlgSHA256,
					Sig:  tpm2.TPM2BPublicKeyRSA{Buffer: e.Signature},
				}),
			},
		}.Execute(tpm)
		if err != nil {
			refusals = append(refusals, fmt.Sprintf("entry %d: VerifySignature: %v", i, err))
			continue
		}
		got, err := authorize(tpm, key, e.Policy, vs.Validation, sealed, secret)
		if err != nil {
			refusals = append(refusals, fmt.Sprintf("entry %d (pol %s): %v", i, hex.EncodeToString(e.Policy[:4]), err))
			continue
		}
		fmt.Fprintf(out, "tpmcheck: entry %d: VerifySignature, PolicyPCR, PolicyAuthorize accepted; unsealed %q\n", i, got)
		return nil
	}
	for _, r := range refusals {
		fmt.Fprintf(out, "tpmcheck: %s\n", r)
	}
	return fmt.Errorf("%w: the TPM accepted none of %d signed policies", errRefused, len(entries))
}

// authorize runs PolicyPCR and PolicyAuthorize in a fresh session and
// unseals with it.
func authorize(tpm transport.TPM, key *tpm2.LoadExternalResponse, pol []byte, ticket tpm2.TPMTTKVerified, sealed sealing.Object, secret []byte) ([]byte, error) {
	sess, closeSess, err := tpm2.PolicySession(tpm, tpm2.TPMAlgSHA256, 16)
	if err != nil {
		return nil, fmt.Errorf("StartAuthSession: %w", err)
	}
	defer closeSess()
	if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: measure.PCRSelection(measure.SHA256)}).Execute(tpm); err != nil {
		return nil, fmt.Errorf("PolicyPCR: %w", err)
	}
	if _, err := (tpm2.PolicyAuthorize{
		PolicySession:  sess.Handle(),
		ApprovedPolicy: tpm2.TPM2BDigest{Buffer: pol},
		KeySign:        key.Name,
		CheckTicket:    ticket,
	}).Execute(tpm); err != nil {
		return nil, fmt.Errorf("PolicyAuthorize: %w", err)
	}
	rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: sealed.Handle, Name: sealed.Name, Auth: sess}}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("Unseal: %w", err)
	}
	if !bytes.Equal(rsp.OutData.Buffer, secret) {
		return nil, fmt.Errorf("unsealed %q, sealed %q", rsp.OutData.Buffer, secret)
	}
	return rsp.OutData.Buffer, nil
}
