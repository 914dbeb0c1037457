package ovmfvars

import (
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// shimAttributes are those of shim's own non-volatile variables (MokList,
// SHIM_VERBOSE): boot-service access only. shim deletes a MokList that
// has the runtime bit as one an OS could have written, and refuses the
// image it would have allowed.
const shimAttributes = efivar.EFI_VARIABLE_NON_VOLATILE | efivar.EFI_VARIABLE_BOOTSERVICE_ACCESS

// SetMokList replaces shim's MokList with one X.509 signature list per
// certificate (DER), each entry owned by owner, the form MokManager and
// virt-fw-vars --add-mok write. shim then trusts images those
// certificates sign as it trusts db.
func (s *Store) SetMokList(owner efivar.GUID, certDER ...[]byte) error {
	if len(certDER) == 0 {
		return fmt.Errorf("%w: MokList without certificates", ErrInvalid)
	}
	lists := make([]efivar.SignatureList, len(certDER))
	for i, der := range certDER {
		lists[i] = efivar.X509List(owner, der)
	}
	data, err := efivar.MarshalSignatureLists(lists...)
	if err != nil {
		return fmt.Errorf("MokList: %w", err)
	}
	return s.Set("MokList", SHIM_LOCK_GUID, shimAttributes, data)
}

// SetShimVerbose makes shim print what it verifies and why it refuses
// (SHIM_VERBOSE set to 1), which is what a test reading the console needs.
// The value is a UINT32, as shim reads it (and virt-fw-vars writes it).
func (s *Store) SetShimVerbose() error {
	return s.Set("SHIM_VERBOSE", SHIM_LOCK_GUID, shimAttributes, []byte{1, 0, 0, 0})
}
