package efivar

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is an EFI_GUID in its on-disk byte order: the first three fields
// little endian, the last eight bytes as they are.
type GUID [16]byte

func makeGUID(a uint32, b, c uint16, d [8]byte) GUID {
	var g GUID
	le.PutUint32(g[0:], a)
	le.PutUint16(g[4:], b)
	le.PutUint16(g[6:], c)
	copy(g[8:], d[:])
	return g
}

// ParseGUID reads the registry form, e.g.
// "8be4df61-93ca-11d2-aa0d-00e098032b8c" (either case).
func ParseGUID(s string) (GUID, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 ||
		len(parts[3]) != 4 || len(parts[4]) != 12 {
		return GUID{}, fmt.Errorf("GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return GUID{}, fmt.Errorf("GUID %q: %w", s, err)
	}
	var d [8]byte
	copy(d[:], raw[8:])
	return makeGUID(be32(raw[0:]), be16(raw[4:]), be16(raw[6:]), d), nil
}

// String gives the registry form in lower case.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]), g[8:10], g[10:])
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }
