package iso

import (
	"context"
	"fmt"
	"os"
	"strconv"
)

// efiFile is one file of the EFI boot image, under EFI/BOOT.
type efiFile struct{ name, src string }

// efiFiles lays out the boot directory: with shim, shim is BOOTX64.EFI
// and loads grubx64.efi from its own directory, which is our UKI (and
// starts mmx64.efi when that fails, if given); without, the UKI is
// BOOTX64.EFI. No fbx64.efi: with it shim would run the fallback.
func efiFiles(ukiPath, shim, mok string) []efiFile {
	if shim == "" {
		return []efiFile{{bootx64, ukiPath}}
	}
	fs := []efiFile{{bootx64, shim}, {shimSecond, ukiPath}}
	if mok != "" {
		fs = append(fs, efiFile{mokManager, mok})
	}
	return fs
}

// efiImageKiB sizes the FAT image: the files rounded up to 4 KiB
// clusters, plus a quarter and 1 MiB for the FAT and directories.
func efiImageKiB(files []efiFile) (int64, error) {
	var kib int64
	for _, f := range files {
		fi, err := os.Stat(f.src)
		if err != nil {
			return 0, err
		}
		if !fi.Mode().IsRegular() {
			return 0, fmt.Errorf("%w: %s is not a regular file", ErrOptions, f.src)
		}
		kib += (fi.Size() + 4095) / 4096 * 4
	}
	return kib + kib/4 + 1024, nil
}

// makeEFIImage writes the FAT boot image with mkfs.vfat and mtools.
// Reproducible: --invariant and a fixed volume ID, and mtools dates every
// entry SOURCE_DATE_EPOCH.
func makeEFIImage(ctx context.Context, t Tools, out string, files []efiFile, epoch int64) error {
	kib, err := efiImageKiB(files)
	if err != nil {
		return err
	}
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := run(ctx, epoch, t.MkfsVfat, "-C", "--invariant", "-i", "4e425349", "-n", "EFIBOOT", out, strconv.FormatInt(kib, 10)); err != nil {
		return err
	}
	if err := run(ctx, epoch, t.Mmd, "-i", out, "::/EFI", "::/"+efiBootDir); err != nil {
		return err
	}
	for _, f := range files {
		if err := run(ctx, epoch, t.Mcopy, "-i", out, f.src, "::/"+efiBootDir+"/"+f.name); err != nil {
			return err
		}
	}
	return nil
}
