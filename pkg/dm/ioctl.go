package dm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Each structure encodes itself here, in one place per byte layout, with
// native (little-endian on every architecture we boot) byte order.
var le = binary.LittleEndian

// MarshalTo writes the header into b[:SizeofDMIoctl].
func (d *DMIoctl) MarshalTo(b []byte) {
	_ = b[SizeofDMIoctl-1]
	for i, v := range d.Version {
		le.PutUint32(b[offVersion+4*i:], v)
	}
	le.PutUint32(b[offDataSize:], d.DataSize)
	le.PutUint32(b[offDataStart:], d.DataStart)
	le.PutUint32(b[offTargetCount:], d.TargetCount)
	le.PutUint32(b[offOpenCount:], uint32(d.OpenCount))
	le.PutUint32(b[offFlags:], d.Flags)
	le.PutUint32(b[offEventNr:], d.EventNr)
	le.PutUint32(b[offPadding:], d.Padding)
	le.PutUint64(b[offDev:], d.Dev)
	copy(b[offName:offName+DM_NAME_LEN], d.Name[:])
	copy(b[offUUID:offUUID+DM_UUID_LEN], d.UUID[:])
	copy(b[offData:offData+7], d.Data[:])
}

// UnmarshalFrom reads the header the kernel wrote back into b.
func (d *DMIoctl) UnmarshalFrom(b []byte) error {
	if len(b) < SizeofDMIoctl {
		return fmt.Errorf("dm_ioctl of %d bytes, need %d", len(b), SizeofDMIoctl)
	}
	for i := range d.Version {
		d.Version[i] = le.Uint32(b[offVersion+4*i:])
	}
	d.DataSize = le.Uint32(b[offDataSize:])
	d.DataStart = le.Uint32(b[offDataStart:])
	d.TargetCount = le.Uint32(b[offTargetCount:])
	d.OpenCount = int32(le.Uint32(b[offOpenCount:]))
	d.Flags = le.Uint32(b[offFlags:])
	d.EventNr = le.Uint32(b[offEventNr:])
	d.Padding = le.Uint32(b[offPadding:])
	d.Dev = le.Uint64(b[offDev:])
	copy(d.Name[:], b[offName:])
	copy(d.UUID[:], b[offUUID:])
	copy(d.Data[:], b[offData:])
	return nil
}

// MarshalTo writes the spec into b[:SizeofDMTargetSpec].
func (s *DMTargetSpec) MarshalTo(b []byte) {
	_ = b[SizeofDMTargetSpec-1]
	le.PutUint64(b[0:], s.SectorStart)
	le.PutUint64(b[8:], s.Length)
	le.PutUint32(b[16:], uint32(s.Status))
	le.PutUint32(b[20:], s.Next)
	copy(b[24:24+DM_MAX_TYPE_NAME], s.TargetType[:])
}

// Target is one line of a device-mapper table: Length sectors from
// SectorStart mapped by target Type with Params.
type Target struct {
	SectorStart uint64
	Length      uint64
	Type        string
	Params      string
}

var (
	errNameLength = errors.New("name must be 1 to 127 bytes without '/' or NUL")
	errUUIDLength = errors.New("uuid must be at most 128 bytes without NUL")
)

// setName fills the NUL-terminated name field.
func (d *DMIoctl) setName(name string) error {
	if name == "" || len(name) >= DM_NAME_LEN || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("device-mapper name %q: %w", name, errNameLength)
	}
	copy(d.Name[:], name)
	return nil
}

func (d *DMIoctl) setUUID(uuid string) error {
	if len(uuid) >= DM_UUID_LEN || strings.ContainsRune(uuid, 0) {
		return fmt.Errorf("device-mapper uuid %q: %w", uuid, errUUIDLength)
	}
	copy(d.UUID[:], uuid)
	return nil
}

// align8 rounds n up to the 8-byte alignment the kernel wants between
// target specs.
func align8(n int) int { return (n + 7) &^ 7 }

// tablePayload encodes targets as consecutive dm_target_spec + parameter
// string pairs, each padded to 8 bytes, Next pointing at the following one.
func tablePayload(targets []Target) ([]byte, error) {
	var out []byte
	for _, t := range targets {
		if t.Type == "" || len(t.Type) >= DM_MAX_TYPE_NAME || strings.ContainsRune(t.Type, 0) {
			return nil, fmt.Errorf("target type %q must be 1 to 15 bytes", t.Type)
		}
		if strings.ContainsRune(t.Params, 0) {
			return nil, fmt.Errorf("target %s: parameters contain NUL", t.Type)
		}
		if t.Length == 0 {
			return nil, fmt.Errorf("target %s: zero length", t.Type)
		}
		size := align8(SizeofDMTargetSpec + len(t.Params) + 1)
		b := make([]byte, size)
		spec := DMTargetSpec{SectorStart: t.SectorStart, Length: t.Length, Next: uint32(size)}
		copy(spec.TargetType[:], t.Type)
		spec.MarshalTo(b)
		copy(b[SizeofDMTargetSpec:], t.Params)
		out = append(out, b...)
	}
	return out, nil
}

// TargetVersion is one entry of the kernel's list of registered targets.
type TargetVersion struct {
	Name    string
	Version [3]uint32
}

// parseVersions decodes the chain of struct dm_target_versions the kernel
// returns for DM_LIST_VERSIONS: {u32 next; u32 version[3]; char name[]}.
func parseVersions(b []byte) ([]TargetVersion, error) {
	var out []TargetVersion
	for off := 0; off < len(b); {
		if len(b)-off < SizeofDMTargetVersions+1 {
			return nil, fmt.Errorf("target list truncated at %d", off)
		}
		e := b[off:]
		next := int(le.Uint32(e[0:]))
		name := e[SizeofDMTargetVersions:]
		if i := strings.IndexByte(string(name), 0); i >= 0 {
			name = name[:i]
		} else {
			return nil, fmt.Errorf("target name at %d not terminated", off)
		}
		out = append(out, TargetVersion{Name: string(name),
			Version: [3]uint32{le.Uint32(e[4:]), le.Uint32(e[8:]), le.Uint32(e[12:])}})
		if next == 0 {
			break
		}
		if next < SizeofDMTargetVersions || next > len(b)-off {
			return nil, fmt.Errorf("bad target list offset %d at %d", next, off)
		}
		off += next
	}
	return out, nil
}
