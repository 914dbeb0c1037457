package ovmfvars

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// Set stores data as variable name of vendor guid with attributes attrs,
// replacing a live copy in place (keeping its position in the store) or
// adding it at the end. The authenticated-header fields are zero; use
// SetVariable to give them.
func (s *Store) Set(name string, guid efivar.GUID, attrs uint32, data []byte) error {
	return s.SetVariable(Variable{Name: name, GUID: guid, Attributes: attrs, Data: data})
}

// SetAuthenticated stores data (signature lists, without an
// authentication header) as the time-based authenticated variable v
// (efivar.PK, KEK, DB, DBX) last written at ts, as the firmware would
// after accepting a signed write of it with that timestamp.
func (s *Store) SetAuthenticated(v efivar.Variable, data []byte, ts time.Time) error {
	if v.Attributes&efivar.EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS == 0 {
		return fmt.Errorf("%w: %s is not a time-based authenticated variable", ErrInvalid, v.Name)
	}
	t, err := efivar.EFITime(ts)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, v.Name, err)
	}
	return s.SetVariable(Variable{Name: v.Name, GUID: v.GUID, Attributes: v.Attributes, TimeStamp: t, Data: data})
}

// SetVariable stores v with all its header fields, as Set does. It
// refuses a variable that does not fit the store, leaving the store as it
// was.
func (s *Store) SetVariable(v Variable) error {
	if _, err := encodeName(v.Name); err != nil {
		return err
	}
	v.Data = bytes.Clone(v.Data)
	vars := slices.Clone(s.vars)
	if i := s.index(v.Name, v.GUID); i >= 0 {
		vars[i] = v
	} else {
		vars = append(vars, v)
	}
	if n := areaSize(vars); n > s.end-s.start {
		return fmt.Errorf("%w: %s-%s needs %d bytes more than the %d the store has", ErrFull, v.Name, v.GUID, n-(s.end-s.start), s.end-s.start)
	}
	s.vars = vars
	return nil
}

// Delete removes the live variable name of vendor guid.
func (s *Store) Delete(name string, guid efivar.GUID) error {
	i := s.index(name, guid)
	if i < 0 {
		return fmt.Errorf("%w: %s-%s", ErrNotFound, name, guid)
	}
	s.vars = slices.Delete(slices.Clone(s.vars), i, i+1)
	return nil
}

// areaSize is how many bytes the variables take, aligned as written.
func areaSize(vars []Variable) int {
	n := 0
	for _, v := range vars {
		n = align(n) + variableHeaderSize + 2*len([]rune(v.Name)) + 2 + len(v.Data)
	}
	return n
}

// Bytes returns the file: everything outside the variable area as read,
// the live variables written one after the other from the start of the
// area, the rest of it erased (0xFF).
func (s *Store) Bytes() ([]byte, error) {
	out := bytes.Clone(s.file)
	area := out[s.start:s.end]
	for i := range area {
		area[i] = erasedByte
	}
	pos := 0
	for _, v := range s.vars {
		name, err := encodeName(v.Name)
		if err != nil {
			return nil, err
		}
		pos = align(pos)
		if pos+variableHeaderSize+len(name)+len(v.Data) > len(area) {
			return nil, fmt.Errorf("%w: %s-%s does not fit", ErrFull, v.Name, v.GUID)
		}
		h := area[pos : pos+variableHeaderSize]
		le.PutUint16(h[0:], VARIABLE_DATA)
		h[2] = VAR_ADDED
		h[3] = 0
		le.PutUint32(h[4:], v.Attributes)
		le.PutUint64(h[8:], v.MonotonicCount)
		copy(h[16:32], v.TimeStamp[:])
		le.PutUint32(h[32:], v.PubKeyIndex)
		le.PutUint32(h[36:], uint32(len(name)))
		le.PutUint32(h[40:], uint32(len(v.Data)))
		copy(h[44:60], v.GUID[:])
		pos += variableHeaderSize
		pos += copy(area[pos:], name)
		pos += copy(area[pos:], v.Data)
	}
	return out, nil
}

// WriteFile writes the store to path atomically, keeping the mode of the
// file it replaces (0644 for a new one: a variable store holds no
// secrets).
func (s *Store) WriteFile(path string) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.WriteFile(path, b, mode)
}
