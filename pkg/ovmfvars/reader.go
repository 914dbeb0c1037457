package ovmfvars

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

var (
	// ErrMalformed is returned for a file that is not a consistent
	// variable store.
	ErrMalformed = errors.New("malformed OVMF variable store")
	// ErrUnsupported is returned for a well-formed store of a kind this
	// package does not write (a store without authenticated headers).
	ErrUnsupported = errors.New("unsupported OVMF variable store")
	// ErrInvalid is returned for a variable that cannot be stored
	// (empty name, a name outside UCS-2).
	ErrInvalid = errors.New("invalid variable")
	// ErrFull is returned when the variables no longer fit the store.
	ErrFull = errors.New("OVMF variable store full")
	// ErrNotFound is returned by Delete for a variable the store lacks.
	ErrNotFound = errors.New("no such variable")
)

// Store is a variable store file held in memory.
type Store struct {
	file       []byte // the whole file as read; Bytes rewrites [start, end)
	start, end int    // the variable area, after the store header
	vars       []Variable
}

// Open reads and parses a variable store file of at most MaxFileSize
// bytes.
func Open(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrMalformed, MaxFileSize)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse checks the firmware volume and store headers of b and reads the
// live variables. The Store keeps its own copy of b.
func Parse(b []byte) (*Store, error) {
	start, end, err := parseHeaders(b)
	if err != nil {
		return nil, err
	}
	s := &Store{file: bytes.Clone(b), start: start, end: end}
	if s.vars, err = parseVariables(s.file[:end], start); err != nil {
		return nil, err
	}
	return s, nil
}

// parseHeaders checks the firmware volume header and the variable store
// header and returns the bounds of the variable area.
func parseHeaders(b []byte) (start, end int, err error) {
	if len(b) < fvMinHeaderLength+storeHeaderSize {
		return 0, 0, fmt.Errorf("%w: %d bytes, too short for the headers", ErrMalformed, len(b))
	}
	if string(b[fvSignatureOffset:fvSignatureOffset+4]) != fvSignature {
		return 0, 0, fmt.Errorf("%w: no firmware volume signature %q at offset %d", ErrMalformed, fvSignature, fvSignatureOffset)
	}
	if g := efivar.GUID(b[fvFileSystemGUIDOffset:]); g != EFI_SYSTEM_NV_DATA_FV_GUID {
		return 0, 0, fmt.Errorf("%w: firmware volume of file system %s, not a variable volume", ErrMalformed, g)
	}
	fvLength := le.Uint64(b[fvLengthOffset:])
	headerLength := int(le.Uint16(b[fvHeaderLengthOffset:]))
	switch {
	case fvLength > uint64(len(b)):
		return 0, 0, fmt.Errorf("%w: firmware volume length %d beyond the file's %d bytes", ErrMalformed, fvLength, len(b))
	case headerLength < fvMinHeaderLength || headerLength%2 != 0 || uint64(headerLength)+storeHeaderSize > fvLength:
		return 0, 0, fmt.Errorf("%w: firmware volume header length %d", ErrMalformed, headerLength)
	}
	var sum uint16
	for i := 0; i < headerLength; i += 2 {
		sum += le.Uint16(b[i:])
	}
	if sum != 0 {
		return 0, 0, fmt.Errorf("%w: firmware volume header checksum does not add up (sum %#04x)", ErrMalformed, sum)
	}
	h := b[headerLength : headerLength+storeHeaderSize]
	switch g := efivar.GUID(h); g {
	case EFI_AUTHENTICATED_VARIABLE_GUID:
	case EFI_VARIABLE_GUID:
		return 0, 0, fmt.Errorf("%w: store without authenticated variable headers", ErrUnsupported)
	default:
		return 0, 0, fmt.Errorf("%w: unknown variable store signature %s", ErrMalformed, g)
	}
	size := uint64(le.Uint32(h[16:]))
	if size < storeHeaderSize || uint64(headerLength)+size > fvLength {
		return 0, 0, fmt.Errorf("%w: variable store size %d does not fit the volume", ErrMalformed, size)
	}
	if h[20] != VARIABLE_STORE_FORMATTED || h[21] != VARIABLE_STORE_HEALTHY {
		return 0, 0, fmt.Errorf("%w: variable store format %#02x state %#02x, want formatted and healthy", ErrMalformed, h[20], h[21])
	}
	return align(headerLength + storeHeaderSize), headerLength + int(size), nil
}

// parseVariables walks the headers from start to the first that does not
// begin with VARIABLE_DATA (the free space) or the end of area. Copies
// marked deleted and headers whose write never completed are skipped; a
// copy caught in deletion (the firmware stopped between adding its
// successor and deleting it) counts only when no added copy exists, as in
// edk2.
func parseVariables(area []byte, start int) ([]Variable, error) {
	type found struct {
		v            Variable
		inTransition bool
	}
	var all []found
	for pos := start; pos+variableHeaderSize <= len(area); {
		h := area[pos : pos+variableHeaderSize]
		if le.Uint16(h) != VARIABLE_DATA {
			break
		}
		nameSize, dataSize := uint64(le.Uint32(h[36:])), uint64(le.Uint32(h[40:]))
		next := uint64(pos) + variableHeaderSize + nameSize + dataSize
		if next > uint64(len(area)) {
			return nil, fmt.Errorf("%w: variable at offset %#x: sizes %d+%d run past the store", ErrMalformed, pos, nameSize, dataSize)
		}
		if state := h[2]; state == VAR_ADDED || state == VAR_IN_DELETED_TRANSITION {
			nameAt := pos + variableHeaderSize
			name, err := decodeName(area[nameAt : nameAt+int(nameSize)])
			if err != nil {
				return nil, fmt.Errorf("%w: variable at offset %#x: %v", ErrMalformed, pos, err)
			}
			all = append(all, found{Variable{
				Name:           name,
				GUID:           efivar.GUID(h[44:60]),
				Attributes:     le.Uint32(h[4:]),
				MonotonicCount: le.Uint64(h[8:]),
				TimeStamp:      [16]byte(h[16:32]),
				PubKeyIndex:    le.Uint32(h[32:]),
				Data:           bytes.Clone(area[nameAt+int(nameSize) : next]),
			}, state == VAR_IN_DELETED_TRANSITION})
		}
		pos = align(int(next))
	}
	added := make(map[string]bool, len(all))
	for _, f := range all {
		if f.inTransition {
			continue
		}
		if added[f.v.key()] {
			return nil, fmt.Errorf("%w: variable %s-%s is live twice", ErrMalformed, f.v.Name, f.v.GUID)
		}
		added[f.v.key()] = true
	}
	vars := make([]Variable, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, f := range all {
		if f.inTransition && added[f.v.key()] || seen[f.v.key()] {
			continue
		}
		seen[f.v.key()] = true
		vars = append(vars, f.v)
	}
	return vars, nil
}

// Variables returns copies of the live variables in store order.
func (s *Store) Variables() []Variable {
	out := make([]Variable, len(s.vars))
	for i, v := range s.vars {
		v.Data = bytes.Clone(v.Data)
		out[i] = v
	}
	return out
}

// Get returns the live variable name of vendor guid.
func (s *Store) Get(name string, guid efivar.GUID) (Variable, bool) {
	i := s.index(name, guid)
	if i < 0 {
		return Variable{}, false
	}
	v := s.vars[i]
	v.Data = bytes.Clone(v.Data)
	return v, true
}

func (s *Store) index(name string, guid efivar.GUID) int {
	return slices.IndexFunc(s.vars, func(v Variable) bool { return v.Name == name && v.GUID == guid })
}

func align(n int) int { return (n + headerAlignment - 1) &^ (headerAlignment - 1) }
