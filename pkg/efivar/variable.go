package efivar

import (
	"fmt"
	"time"
	"unicode/utf16"
)

// Variable names a UEFI variable and the attributes it is written with.
type Variable struct {
	Name       string
	GUID       GUID
	Attributes uint32
}

// EfivarfsName is the variable's file name under efivarfs
// (/sys/firmware/efi/efivars), NAME-GUID.
func (v Variable) EfivarfsName() string { return v.Name + "-" + v.GUID.String() }

// EfivarfsContent is what to write to the variable's efivarfs file in a
// single write(2): the attributes (UINT32, little endian) then data (for
// an authenticated variable, the output of Sign). efivarfs turns each
// write into one SetVariable call, so splitting it fails.
func (v Variable) EfivarfsContent(data []byte) []byte {
	out := make([]byte, 4, 4+len(data))
	le.PutUint32(out, v.Attributes)
	return append(out, data...)
}

// nameUTF16 is the variable name as the signed payload holds it: UCS-2,
// little endian, without the terminating NUL.
func (v Variable) nameUTF16() []byte {
	u := utf16.Encode([]rune(v.Name))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		le.PutUint16(b[2*i:], c)
	}
	return b
}

// efiTime encodes t (taken in UTC, to the second) as an EFI_TIME with
// Pad1, Nanosecond, TimeZone, Daylight and Pad2 zero, as section 8.2.6
// requires of the TimeStamp of an authenticated write.
func efiTime(t time.Time) ([efiTimeSize]byte, error) {
	var b [efiTimeSize]byte
	t = t.UTC()
	if t.Year() < 1900 || t.Year() > 9999 {
		return b, fmt.Errorf("timestamp %s: year outside 1900-9999", t.Format(time.RFC3339))
	}
	le.PutUint16(b[0:], uint16(t.Year()))
	b[2] = byte(t.Month())
	b[3] = byte(t.Day())
	b[4] = byte(t.Hour())
	b[5] = byte(t.Minute())
	b[6] = byte(t.Second())
	return b, nil
}

// EFITime is t as the TimeStamp of an authenticated write holds it
// (UTC, to the second, the other fields zero), e.g. for a variable store
// written offline.
func EFITime(t time.Time) ([16]byte, error) { return efiTime(t) }
