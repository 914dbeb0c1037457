package signer

import (
	"fmt"
	"strconv"
	"strings"
)

// TPMScheme starts a reference to a key inside a TPM.
const TPMScheme = "tpm:"

// DefaultTPMDevice is the kernel's TPM resource manager, which lets
// several programs share the TPM.
const DefaultTPMDevice = "/dev/tpmrm0"

// maxRefLength bounds a tpm: reference.
const maxRefLength = 4096

// TPMRef is a parsed tpm: reference: exactly one of Handle and Blob, and
// at most one of Device and Swtpm.
type TPMRef struct {
	Handle uint32 // a persistent handle, 0x81000000..0x81FFFFFF
	Blob   string // a key blob file made by tpmkey
	Device string // a TPM character device (DefaultTPMDevice when both are empty)
	Swtpm  string // a swtpm data socket: a path, or HOST:PORT for TCP
}

// ParseTPMRef parses tpm:handle=0x81000001 or tpm:blob=PATH, optionally
// followed by ?device=PATH or ?swtpm=SOCKET. Values are taken as written
// (no escapes): a path holding ';', '?' or '&' cannot be named.
func ParseTPMRef(ref string) (*TPMRef, error) {
	if len(ref) > maxRefLength {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrReference, len(ref), maxRefLength)
	}
	rest, ok := strings.CutPrefix(ref, TPMScheme)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %q", ErrReference, TPMScheme)
	}
	path, query, _ := strings.Cut(rest, "?")
	r := &TPMRef{}
	seen := map[string]bool{}
	set := func(attr string, allowed ...string) error {
		name, v, ok := strings.Cut(attr, "=")
		if !ok || v == "" {
			return fmt.Errorf("%w: tpm: attribute %q is not name=value", ErrReference, attr)
		}
		if seen[name] {
			return fmt.Errorf("%w: tpm: attribute %q given twice", ErrReference, name)
		}
		seen[name] = true
		found := false
		for _, a := range allowed {
			found = found || a == name
		}
		if !found {
			return fmt.Errorf("%w: tpm: unknown attribute %q (want %s)", ErrReference, name, strings.Join(allowed, ", "))
		}
		switch name {
		case "handle":
			h, err := strconv.ParseUint(v, 0, 32)
			if err != nil || h < 0x81000000 || h > 0x81FFFFFF {
				return fmt.Errorf("%w: tpm: handle %q is not a persistent handle (0x81000000 to 0x81FFFFFF)", ErrReference, v)
			}
			r.Handle = uint32(h)
		case "blob":
			r.Blob = v
		case "device":
			r.Device = v
		case "swtpm":
			r.Swtpm = v
		}
		return nil
	}
	for _, a := range strings.Split(path, ";") {
		if err := set(a, "handle", "blob"); err != nil {
			return nil, err
		}
	}
	if query != "" {
		for _, a := range strings.Split(query, "&") {
			if err := set(a, "device", "swtpm"); err != nil {
				return nil, err
			}
		}
	}
	if (r.Handle == 0) == (r.Blob == "") {
		return nil, fmt.Errorf("%w: tpm: give exactly one of handle= and blob=", ErrReference)
	}
	if r.Device != "" && r.Swtpm != "" {
		return nil, fmt.Errorf("%w: tpm: give at most one of device= and swtpm=", ErrReference)
	}
	return r, nil
}

// String is the reference in its canonical form.
func (r *TPMRef) String() string {
	s := TPMScheme
	if r.Blob != "" {
		s += "blob=" + r.Blob
	} else {
		s += fmt.Sprintf("handle=%#x", r.Handle)
	}
	switch {
	case r.Device != "":
		s += "?device=" + r.Device
	case r.Swtpm != "":
		s += "?swtpm=" + r.Swtpm
	}
	return s
}
