package ukibuild

import (
	"strconv"

	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// sbatSources puts the default lines (sbat.UKIDefaults, for the stub's
// version when its .sdmagic names one) before the user's entries.
func sbatSources(in Inputs) ([]sbat.Source, error) {
	var major, version string
	if info, err := uki.StubVersion(in.Stub); err == nil && info.IsStub() && info.Major() > 0 {
		major, version = strconv.Itoa(info.Major()), info.Version
	}
	defaults, err := sbat.UKIDefaults(in.SBATVendor, major, version)
	if err != nil {
		return nil, inputErr("sbat-vendor", "", err)
	}
	return append([]sbat.Source{{Name: "default SBAT", Text: defaults, Default: true}}, in.SBAT...), nil
}
