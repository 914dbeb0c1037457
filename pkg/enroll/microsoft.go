package enroll

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
)

// MicrosoftOwner is the SignatureOwner of Microsoft's entries in the
// stores that ship them (edk2's gMicrosoftVendorGuid).
var MicrosoftOwner = efivar.GUID{0xbd, 0x9a, 0xfa, 0x77, 0x59, 0x03, 0x32, 0x4d, 0xbd, 0x60, 0x28, 0xf4, 0xe7, 0x8f, 0x78, 0x4b} // 77fa9abd-0359-4d32-bd60-28f4e78f784b

// DefaultMicrosoftSource is Debian's OVMF store with Microsoft's keys
// enrolled (package ovmf).
const DefaultMicrosoftSource = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

// ErrNoMicrosoft is returned for a source without Microsoft's certificates.
var ErrNoMicrosoft = errors.New("no Microsoft certificates")

// Microsoft is the Microsoft UEFI CAs' signature lists for KEK and db.
type Microsoft struct {
	KEK, DB []efivar.SignatureList
}

// MicrosoftFrom takes the X.509 entries owned by MicrosoftOwner from the
// KEK and db of an OVMF variable store (Debian's OVMF_VARS_4M.ms.fd holds
// Microsoft Corporation KEK CA 2011 in KEK, Microsoft Windows Production
// PCA 2011 and Microsoft Corporation UEFI CA 2011 in db). Both must hold
// at least one, and each must be a certificate.
func MicrosoftFrom(s *ovmfvars.Store) (*Microsoft, error) {
	m := &Microsoft{}
	for _, t := range []struct {
		v   efivar.Variable
		dst *[]efivar.SignatureList
	}{{efivar.KEK, &m.KEK}, {efivar.DB, &m.DB}} {
		v, ok := s.Get(t.v.Name, t.v.GUID)
		if !ok {
			return nil, fmt.Errorf("%w: the store has no %s", ErrNoMicrosoft, t.v.Name)
		}
		lists, err := efivar.ParseSignatureLists(v.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.v.Name, err)
		}
		for _, l := range lists {
			if l.Type != efivar.EFI_CERT_X509_GUID {
				continue
			}
			for _, sig := range l.Signatures {
				if sig.Owner != MicrosoftOwner {
					continue
				}
				if _, err := x509.ParseCertificate(sig.Data); err != nil {
					return nil, fmt.Errorf("%s: Microsoft entry: %w", t.v.Name, err)
				}
				*t.dst = append(*t.dst, efivar.X509List(sig.Owner, sig.Data))
			}
		}
		if len(*t.dst) == 0 {
			return nil, fmt.Errorf("%w in the store's %s", ErrNoMicrosoft, t.v.Name)
		}
	}
	return m, nil
}
