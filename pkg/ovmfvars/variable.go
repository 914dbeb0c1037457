package ovmfvars

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// Variable is one live variable of a store, with the fields an
// authenticated store keeps in its header.
type Variable struct {
	Name       string
	GUID       efivar.GUID
	Attributes uint32
	// MonotonicCount is kept for counter-based authenticated variables
	// (deprecated by UEFI); zero for all others.
	MonotonicCount uint64
	// TimeStamp is the EFI_TIME of the last authenticated write of a
	// time-based authenticated variable (all zero for others): firmware
	// refuses a later write with an older timestamp.
	TimeStamp [16]byte
	// PubKeyIndex indexes edk2's key database for counter-based
	// variables; zero for all others.
	PubKeyIndex uint32
	// Data is the value without any authentication header: for PK, KEK
	// and db the signature lists themselves.
	Data []byte
}

func (v Variable) key() string { return v.GUID.String() + ":" + v.Name }

// encodeName gives the name as a store holds it: UCS-2 little endian
// with its terminating NUL.
func encodeName(name string) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty variable name", ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return nil, fmt.Errorf("%w: variable name %q is not UTF-8", ErrInvalid, name)
	}
	out := make([]byte, 0, 2*len(name)+2)
	for _, r := range name {
		if r == 0 || r > 0xFFFF || utf16.IsSurrogate(r) {
			return nil, fmt.Errorf("%w: variable name %q is not UCS-2 without NUL", ErrInvalid, name)
		}
		out = le.AppendUint16(out, uint16(r))
	}
	return append(out, 0, 0), nil
}

// decodeName reads a stored name: NameSize bytes of UCS-2 ending in NUL,
// without another NUL or a surrogate (which would not survive a round
// trip through a Go string).
func decodeName(b []byte) (string, error) {
	if len(b) < 2 || len(b)%2 != 0 {
		return "", fmt.Errorf("name size %d is not a UCS-2 string with its NUL", len(b))
	}
	if le.Uint16(b[len(b)-2:]) != 0 {
		return "", fmt.Errorf("name does not end in NUL")
	}
	rs := make([]rune, 0, len(b)/2-1)
	for i := 0; i < len(b)-2; i += 2 {
		c := le.Uint16(b[i:])
		if c == 0 || utf16.IsSurrogate(rune(c)) {
			return "", fmt.Errorf("name holds NUL or a UTF-16 surrogate at byte %d", i)
		}
		rs = append(rs, rune(c))
	}
	if len(rs) == 0 {
		return "", fmt.Errorf("empty name")
	}
	return string(rs), nil
}
