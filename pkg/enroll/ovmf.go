package enroll

import (
	"crypto/x509"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
)

// OVMFVars enrolls into a variable store file offline, as the firmware
// would store the writes after accepting them: the signature lists with
// the write's timestamp, no signature needed.
type OVMFVars struct {
	Store *ovmfvars.Store
}

// SetupMode is true for a store without PK: firmware booted on it starts
// in setup mode.
func (o OVMFVars) SetupMode() (bool, error) {
	_, hasPK := o.Store.Get(efivar.PK.Name, efivar.PK.GUID)
	return !hasPK, nil
}

// Apply stores w's data.
func (o OVMFVars) Apply(w Write) error {
	return o.Store.SetAuthenticated(w.Variable, w.Data, w.Time)
}

// SetMokList sets shim's MokList to certs (the db certificate, so that
// shim starts what the db key signs), owned by owner.
func (o OVMFVars) SetMokList(owner efivar.GUID, certs ...*x509.Certificate) error {
	der := make([][]byte, len(certs))
	for i, c := range certs {
		der[i] = c.Raw
	}
	return o.Store.SetMokList(owner, der...)
}
