package ukibuild

import (
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// UKI is a composed image, ready to be written.
type UKI struct {
	spec   *uki.Spec
	signer *authenticode.Signer
	// Prediction is PCR 11 after each phase path (nil unless asked for
	// through PCR.Predict or PCR.Groups); profile 0's for a multi-profile
	// UKI.
	Prediction *measure.Prediction
	// PCRSig holds the signed policies put in .pcrsig (nil without key
	// groups); profile 0's for a multi-profile UKI.
	PCRSig *measure.PCRSig
	// Profiles holds, for a multi-profile UKI, each profile's prediction
	// and .pcrsig (Profiles[0] is Prediction and PCRSig).
	Profiles []ProfileResult
}

// ProfileResult is what one profile of a multi-profile UKI measures and
// carries.
type ProfileResult struct {
	Prediction *measure.Prediction
	PCRSig     *measure.PCRSig
}

// Compose checks the inputs and plans the image; nothing is written yet.
func Compose(in Inputs) (*UKI, error) {
	u := &UKI{}
	if in.SigningKey != nil || len(in.Certificates) > 0 {
		u.signer = &authenticode.Signer{Key: in.SigningKey, Chain: in.Certificates}
		if in.SigningKey == nil {
			return nil, inputErr("secureboot-private-key", "", errors.New("certificates given without a key"))
		}
		if err := u.signer.Check(); err != nil {
			return nil, inputErr("secureboot-private-key", "", err)
		}
	}
	spec, err := newSpec(in)
	if err != nil {
		return nil, err
	}
	u.spec = spec
	if !in.PCR.wanted() {
		return u, nil
	}
	preds, err := predict(spec, in.PCR)
	if err != nil {
		return nil, err
	}
	u.Prediction = preds[0]
	for i, pred := range preds {
		r := ProfileResult{Prediction: pred}
		if len(in.PCR.Groups) > 0 {
			sig, err := measure.SignGroups(pred, in.PCR.Groups)
			if err != nil {
				return nil, inputErr("pcr-private-key", "", fmt.Errorf("signing PCR policies: %w", err))
			}
			js, err := sig.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("encoding .pcrsig: %w", err)
			}
			// Compact JSON, systemd-measure's --json=short form, which
			// the stub hands to the initrd as
			// /.extra/tpm2-pcr-signature.json. A profile carries its own,
			// as ukify lays them out: the stub hands over the one of the
			// profile it boots.
			sec := uki.NewSection(uki.SectionPCRSig, js)
			if spec.Profiles() > 0 {
				err = spec.AddToProfile(i, sec)
			} else {
				err = spec.Add(sec)
			}
			if err != nil {
				return nil, err
			}
			r.PCRSig = &sig
		}
		if i == 0 {
			u.PCRSig = r.PCRSig
		}
		if spec.Profiles() > 0 {
			u.Profiles = append(u.Profiles, r)
		}
	}
	return u, nil
}

// WriteTo writes the image to out, signed when Inputs had a signing key,
// and returns its SHA-256 Authenticode digest. out is patched in place
// (certificate table entry, CheckSum), so it must be a file or a buffer
// that can be written at an offset.
func (u *UKI) WriteTo(out authenticode.Output) ([]byte, error) {
	return u.spec.Write(out, u.signer)
}

// Bytes writes the image into memory.
func (u *UKI) Bytes() ([]byte, error) {
	var m memOutput
	if _, err := u.WriteTo(&m); err != nil {
		return nil, err
	}
	return m.b, nil
}

// Sections are the image's added sections, in the order they are laid out
// and measured.
func (u *UKI) Sections() []uki.Section { return u.spec.Ordered() }

// memOutput is an authenticode.Output in memory.
type memOutput struct{ b []byte }

func (m *memOutput) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }

func (m *memOutput) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.b)) {
		return 0, fmt.Errorf("write at %d past the %d bytes written", off, len(m.b))
	}
	return copy(m.b[off:], p), nil
}
