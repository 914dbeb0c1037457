package iso

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/iso9660"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// Paths inside the ISO 9660 tree and the EFI boot image. The store image
// is StoreImageBase + its file system ("/nix-store.squashfs"), its tree
// that path + TreeSuffix, where the boot check looks by default.
const (
	StoreImageBase = "/nix-store."
	TreeSuffix     = ".verity"
	EFIBootImage   = "boot/efiboot.img"

	efiBootDir  = "EFI/BOOT"
	bootx64     = "BOOTX64.EFI"
	shimSecond  = "grubx64.efi" // what shim loads from its own directory
	mokManager  = "mmx64.efi"   // what shim starts when the second stage fails
	DefaultName = "NIXOS_ISO"   // default volume label
)

// ErrLabel is wrapped by errors about a volume label.
var ErrLabel = errors.New("invalid volume label")

// CheckLabel accepts labels the boot side can compare exactly: 1 to 32
// bytes (ISO 9660's volume identifier) of A-Z, a-z, 0-9, "_", "-" and ".".
func CheckLabel(l string) error {
	if l == "" || len(l) > iso9660.MaxLabel {
		return fmt.Errorf("%w %q: 1 to %d characters", ErrLabel, l, iso9660.MaxLabel)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w %q: only letters, digits, '_', '-' and '.'", ErrLabel, l)
		}
	}
	return nil
}

// Medium is how the boot side recognises the ISO: its volume label and
// its volume UUID (blkid's form of the ISO 9660 modification date).
type Medium struct {
	Label string
	UUID  string
}

// MediumFor derives the medium's identity from the store image's root
// hash, so that two ISOs with different stores never share a UUID (an
// old installer stick left plugged in is not mistaken for this one) and
// the same store always gets the same one. xorriso takes the UUID as an
// ECMA-119 time: 16 digits, year 1970 to 2999, so the hash is spread over
// the fields of a valid date from year 2000 to 2999.
func MediumFor(label string, rootHash []byte) (Medium, error) {
	if err := CheckLabel(label); err != nil {
		return Medium{}, err
	}
	if len(rootHash) < 8 {
		return Medium{}, fmt.Errorf("root hash of %d bytes", len(rootHash))
	}
	n := binary.BigEndian.Uint64(rootHash[:8])
	field := func(radix uint64) uint64 { v := n % radix; n /= radix; return v }
	cc, sec, min, hour := field(100), field(60), field(60), field(24)
	day, month, year := field(28)+1, field(12)+1, field(1000)+2000
	return Medium{Label: label, UUID: fmt.Sprintf("%04d-%02d-%02d-%02d-%02d-%02d-%02d", year, month, day, hour, min, sec, cc)}, nil
}

// xorrisoDate is the UUID as xorriso's --modification-date takes it.
func (m Medium) xorrisoDate() string {
	b := make([]byte, 0, 16)
	for i := 0; i < len(m.UUID); i++ {
		if m.UUID[i] != '-' {
			b = append(b, m.UUID[i])
		}
	}
	return string(b)
}

// Params are the words the UKI's signed command line carries so that the
// boot check finds the medium, opens the store image (image, a path on the
// ISO) on it through
// dm-verity with this root hash and mounts it; the store check against
// the manifest is off, since every block is verified on read instead.
func (m Medium) Params(image string, rootHash []byte) []kcmdline.Param {
	p := func(k, v string) kcmdline.Param { return kcmdline.Param{Key: bootcheck.Prefix + "." + k, Value: v} }
	return []kcmdline.Param{
		p("store", "off"),
		p("medium-label", m.Label),
		p("medium-uuid", m.UUID),
		p("image", image),
		p("root-hash", hex.EncodeToString(rootHash)),
	}
}
