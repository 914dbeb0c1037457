package verity

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The text forms of a tree's parameters, as veritysetup prints and takes
// them: the root hash and salt in hex (a missing salt is "-"), the UUID in
// the 8-4-4-4-12 form.

// ParseRootHash reads a root hash in hex. A string of hex digits of the
// wrong count gives ErrRootHashLength, anything else ErrNotHex.
func ParseRootHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil && !errors.Is(err, hex.ErrLength) {
		return nil, fmt.Errorf("%w: %w", ErrNotHex, err)
	}
	if err != nil || len(b) != DigestSize {
		return nil, fmt.Errorf("%w: %d hex digits, %s needs %d", ErrRootHashLength, len(s), Algorithm, 2*DigestSize)
	}
	return b, nil
}

// ParseSalt reads a salt in hex; "-" (or nothing) is no salt.
func ParseSalt(s string) ([]byte, error) {
	if s == "-" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotHex, err)
	}
	if len(b) > MaxSaltSize {
		return nil, fmt.Errorf("%w: salt of %d bytes exceeds %d", ErrParams, len(b), MaxSaltSize)
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// FormatSalt is the salt in hex, or "-" for none.
func FormatSalt(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

// NewSalt returns DefaultSaltSize random bytes, veritysetup's default salt.
func NewSalt() ([]byte, error) {
	salt := make([]byte, DefaultSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	return salt, nil
}

// ParseUUID reads the 8-4-4-4-12 hex form.
func ParseUUID(s string) ([16]byte, error) {
	var u [16]byte
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return u, ErrUUID
	}
	b, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return u, fmt.Errorf("%w: %w", ErrNotHex, err)
	}
	copy(u[:], b)
	return u, nil
}

// FormatUUID writes the 8-4-4-4-12 form, in lower case.
func FormatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewUUID returns a random (version 4) UUID, as veritysetup makes.
func NewUUID() ([16]byte, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return u, fmt.Errorf("random uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u, nil
}
