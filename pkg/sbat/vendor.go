package sbat

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Vendor is who builds and signs the UKIs: it names the vendor lines
// shim-review expects in a UKI's SBAT (systemd-stub.<ID>, uki.<ID>), so
// that one vendor's UKIs can be revoked without touching anyone else's.
type Vendor struct {
	ID   string // the component suffix, as an os-release ID ("nixos")
	Name string // vendor_name ("NixOS")
	URL  string // vendor_url
}

// DefaultVendor is this project's: the UKIs are NixOS's.
var DefaultVendor = Vendor{ID: "nixos", Name: "NixOS", URL: "https://nixos.org/"}

// ErrVendor is returned for a vendor that cannot name SBAT components.
var ErrVendor = errors.New("bad SBAT vendor (want ID,NAME,URL; ID of a-z 0-9 _ -)")

var vendorID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// String is the vendor as ParseVendor reads it, "ID,NAME,URL".
func (v Vendor) String() string { return v.ID + "," + v.Name + "," + v.URL }

// ParseVendor reads "ID,NAME,URL" ("nixos,NixOS,https://nixos.org/").
func ParseVendor(s string) (Vendor, error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return Vendor{}, fmt.Errorf("%w: %q has %d fields", ErrVendor, s, len(f))
	}
	v := Vendor{ID: f[0], Name: f[1], URL: f[2]}
	return v, v.check()
}

func (v Vendor) check() error {
	if !vendorID.MatchString(v.ID) {
		return fmt.Errorf("%w: ID %q", ErrVendor, v.ID)
	}
	for _, f := range []string{v.Name, v.URL} {
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, ",\n\r\x00") {
			return fmt.Errorf("%w: field %q", ErrVendor, f)
		}
	}
	return nil
}

// The upstream lines of a UKI's default SBAT.
const (
	stubComponent = "systemd-stub"
	ukiComponent  = "uki"
	systemdVendor = "The systemd Developers"
	systemdURL    = "https://systemd.io/"
)

// UKIDefaults returns the SBAT lines a UKI carries unless the stub, the
// kernel or the user list the same components (see Source.Default):
//
//	systemd-stub,1,The systemd Developers,systemd,<major>,https://systemd.io/
//	systemd-stub.<ID>,1,<Name>,systemd,<stubVersion>,<URL>
//	uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/
//	uki.<ID>,1,<Name>,uki,1,<URL>
//
// the lines shim-review asks of a UKI: the stub's code and the image as a
// whole, upstream and per vendor, each revocable on its own. Older stubs
// (Debian 12's 252) list their code as "systemd", shared with
// systemd-boot; the systemd-stub lines are added for them too, so that a
// level raised for systemd-stub revokes them. The stub lines are left out when the stub's
// version is unknown (major or stubVersion empty).
func UKIDefaults(v Vendor, major, stubVersion string) ([]byte, error) {
	if v == (Vendor{}) {
		v = DefaultVendor
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	var lines []Entry
	if major != "" && stubVersion != "" {
		lines = append(lines,
			Entry{stubComponent, "1", systemdVendor, "systemd", major, systemdURL},
			Entry{stubComponent + "." + v.ID, "1", v.Name, "systemd", stubVersion, v.URL})
	}
	uki, err := ParseLine(UKIEntry)
	if err != nil {
		return nil, err
	}
	lines = append(lines, uki, Entry{ukiComponent + "." + v.ID, "1", v.Name, ukiComponent, "1", v.URL})
	var b strings.Builder
	for _, e := range lines {
		if _, err := ParseLine(e.String()); err != nil {
			return nil, err
		}
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}
