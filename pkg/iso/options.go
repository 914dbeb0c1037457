package iso

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// DefaultEpoch is the date every file gets when no SOURCE_DATE_EPOCH is
// given: 1980-01-01, what Nix's stdenv sets, and the earliest date FAT
// can hold.
const DefaultEpoch = 315532800

// Options are an ISO's inputs.
type Options struct {
	// UKI are the image's ingredients; Build appends the medium's
	// parameters (Medium.Params) to its command line and sets
	// ClosureManifest when it records one from ClosureInfo. A signing key
	// is required: shim and firmware refuse unsigned images.
	UKI ukibuild.Inputs

	// The store, one of:
	// ClosureInfo, a closureInfo directory (or registration file): its
	// paths become the store image and its manifest is embedded in the
	// UKI (the boot check's settings ride with it);
	// StoreImage, a squashfs or erofs image already made, with
	// UKI.ClosureManifest naming the manifest of what it holds.
	ClosureInfo string
	StoreImage  string

	// Shim is shim's signed image (BOOTX64.EFI; the UKI becomes
	// grubx64.efi); empty boots the UKI directly (our key in db).
	// MokManager is copied as mmx64.efi next to shim when given.
	Shim       string
	MokManager string

	Label string // volume label (CheckLabel); empty means DefaultName
	Epoch int64  // SOURCE_DATE_EPOCH for every date written; 0 means DefaultEpoch

	Output  string // the ISO, written atomically
	TempDir string // scratch space for the store image and the EFI image; "" means beside Output

	Tools Tools
}

// Tools are the external programs; empty fields are looked up on PATH.
type Tools struct {
	Mksquashfs, MkfsVfat, Mmd, Mcopy, Xorriso string
}

// ErrOptions is wrapped by errors about the options themselves.
var ErrOptions = errors.New("invalid ISO options")

func (o *Options) check() error {
	switch {
	case (o.ClosureInfo == "") == (o.StoreImage == ""):
		return fmt.Errorf("%w: give a closure or a store image, exactly one", ErrOptions)
	case o.StoreImage != "" && o.UKI.ClosureManifest == "":
		return fmt.Errorf("%w: a prebuilt store image needs the closure manifest of what it holds", ErrOptions)
	case o.ClosureInfo != "" && o.UKI.ClosureManifest != "":
		return fmt.Errorf("%w: the manifest is recorded from the closure; do not give one too", ErrOptions)
	case o.UKI.SigningKey == nil:
		return fmt.Errorf("%w: the UKI must be signed (shim and Secure Boot firmware refuse unsigned images)", ErrOptions)
	case o.MokManager != "" && o.Shim == "":
		return fmt.Errorf("%w: MokManager only goes with shim", ErrOptions)
	case o.Output == "":
		return fmt.Errorf("%w: no output", ErrOptions)
	case o.Epoch < 0:
		return fmt.Errorf("%w: negative SOURCE_DATE_EPOCH", ErrOptions)
	}
	if o.Label == "" {
		o.Label = DefaultName
	}
	if o.Epoch == 0 {
		o.Epoch = DefaultEpoch
	}
	if err := CheckLabel(o.Label); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return o.Tools.find(o.ClosureInfo != "")
}

// find fills in the tools from PATH.
func (t *Tools) find(squashfs bool) error {
	for _, f := range []struct {
		dst  *string
		name string
		need bool
	}{
		{&t.Mksquashfs, "mksquashfs", squashfs},
		{&t.MkfsVfat, "mkfs.vfat", true},
		{&t.Mmd, "mmd", true},
		{&t.Mcopy, "mcopy", true},
		{&t.Xorriso, "xorriso", true},
	} {
		if *f.dst != "" || !f.need {
			continue
		}
		p, err := exec.LookPath(f.name)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrTool, err)
		}
		*f.dst = p
	}
	return nil
}
