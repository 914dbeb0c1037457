package verity

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseRootHash(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		in      string
		want    []byte
		err     error
		message string
	}{
		{in: good, want: bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 4)},
		{in: strings.ToUpper(good), want: bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 4)},
		{in: "", err: ErrRootHashLength, message: "0 hex digits, sha256 needs 64"},
		{in: "abcd", err: ErrRootHashLength, message: "root hash has the wrong length: 4 hex digits, sha256 needs 64"},
		{in: good[:63], err: ErrRootHashLength, message: "63 hex digits"},
		{in: good + "00", err: ErrRootHashLength, message: "66 hex digits"},
		{in: "xyz", err: ErrNotHex, message: "not hex"},
		{in: good[:62] + "g0", err: ErrNotHex},
	}
	for _, tt := range tests {
		got, err := ParseRootHash(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("ParseRootHash(%q): error %v, want %v", tt.in, err, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), tt.message) {
			t.Errorf("ParseRootHash(%q): %q does not say %q", tt.in, err, tt.message)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("ParseRootHash(%q) = %x, want %x", tt.in, got, tt.want)
		}
	}
}

func TestParseSalt(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		err  error
	}{
		{in: "-"},
		{in: ""},
		{in: "ab", want: []byte{0xab}},
		{in: strings.Repeat("5a", MaxSaltSize), want: bytes.Repeat([]byte{0x5a}, MaxSaltSize)},
		{in: strings.Repeat("5a", MaxSaltSize+1), err: ErrParams},
		{in: "zz", err: ErrNotHex},
		{in: "abc", err: ErrNotHex},
	}
	for _, tt := range tests {
		got, err := ParseSalt(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("ParseSalt(%q): error %v, want %v", tt.in, err, tt.err)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("ParseSalt(%q) = %x, want %x", tt.in, got, tt.want)
		}
		if err == nil && FormatSalt(got) != map[bool]string{true: "-", false: tt.in}[len(got) == 0] {
			t.Errorf("FormatSalt(ParseSalt(%q)) = %q", tt.in, FormatSalt(got))
		}
	}
}

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{in: "01234567-89ab-4def-8123-456789abcdef"},
		{in: "6f3c2a1e-9b4d-4c5e-8f7a-0123456789ab"},
		{in: "nope", err: ErrUUID},
		{in: "0123456789ab4def8123456789abcdef", err: ErrUUID},
		{in: "01234567-89ab-4def-8123-456789abcdef-", err: ErrUUID},
		{in: "0123456-789ab-4def-8123-456789abcdef", err: ErrUUID},
		{in: "0123456x-89ab-4def-8123-456789abcdef", err: ErrNotHex},
	}
	for _, tt := range tests {
		u, err := ParseUUID(tt.in)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("ParseUUID(%q): error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && FormatUUID(u) != tt.in {
			t.Errorf("FormatUUID(ParseUUID(%q)) = %q", tt.in, FormatUUID(u))
		}
	}
}

// Random UUIDs are version 4, variant 1, as veritysetup's are; random
// salts have veritysetup's length and differ.
func TestRandomDefaults(t *testing.T) {
	u, err := NewUUID()
	if err != nil {
		t.Fatal(err)
	}
	if s := FormatUUID(u); s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
		t.Errorf("random UUID %s is not version 4, variant 1", s)
	}
	a, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSalt()
	if len(a) != DefaultSaltSize || bytes.Equal(a, b) {
		t.Errorf("random salts %x, %x", a, b)
	}
}
