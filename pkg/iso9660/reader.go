package iso9660

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotISO9660 is wrapped when the device holds no ISO 9660 volume.
var ErrNotISO9660 = errors.New("not an ISO 9660 volume")

// Volume is what identifies a volume.
type Volume struct {
	Label string // volume identifier, trailing spaces removed
	UUID  string // "YYYY-MM-DD-HH-MM-SS-CC", empty when neither date is set
}

// Read reads the primary volume descriptor from r.
func Read(r io.ReaderAt) (Volume, error) {
	var s [SectorSize]byte
	if _, err := r.ReadAt(s[:], PVDOffset); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Volume{}, fmt.Errorf("%w: shorter than %d bytes", ErrNotISO9660, PVDOffset+SectorSize)
		}
		return Volume{}, err
	}
	return Parse(s[:])
}

// Parse reads a primary volume descriptor sector.
func Parse(s []byte) (Volume, error) {
	if len(s) < SectorSize {
		return Volume{}, fmt.Errorf("%w: descriptor of %d bytes", ErrNotISO9660, len(s))
	}
	if s[0] != typePrimary || string(s[1:6]) != standardID || s[6] != descriptorVersion {
		return Volume{}, fmt.Errorf("%w: no primary volume descriptor at byte %d", ErrNotISO9660, PVDOffset)
	}
	label := strings.TrimRight(string(s[volumeIDOffset:volumeIDOffset+MaxLabel]), " \x00")
	if !printable(label) {
		return Volume{}, fmt.Errorf("%w: volume identifier %q is not printable ASCII", ErrNotISO9660, label)
	}
	uuid, err := dateUUID(s[modifiedOffset : modifiedOffset+dateDigits])
	if err == nil && uuid == "" {
		uuid, err = dateUUID(s[creationOffset : creationOffset+dateDigits])
	}
	if err != nil {
		return Volume{}, err
	}
	return Volume{Label: label, UUID: uuid}, nil
}

// dateUUID formats a 16-digit date as blkid does; an unset date (all
// "0", or all NUL) gives "".
func dateUUID(d []byte) (string, error) {
	unset := true
	for _, c := range d {
		if c != '0' && c != 0 {
			unset = false
		}
	}
	if unset {
		return "", nil
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%w: volume date %q is not 16 digits", ErrNotISO9660, d)
		}
	}
	return fmt.Sprintf("%s-%s-%s-%s-%s-%s-%s", d[0:4], d[4:6], d[6:8], d[8:10], d[10:12], d[12:14], d[14:16]), nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
