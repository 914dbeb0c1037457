package iso

import (
	"context"
	"time"
)

// writeISO runs xorriso's mkisofs emulation: Rock Ridge names, ISO level 3
// (files over 4 GiB), the EFI image as the El Torito EFI boot entry and,
// appended as GPT partition 2 (type EF, the ESP), the MBR/GPT hybrid that
// lets the same bytes boot as a disk. Only the listed files go in, by
// graft points, so nothing else from the build directory can slip in;
// every file and directory is dated epoch (SOURCE_DATE_EPOCH alone only
// sets atime and ctime to each source file's mtime), the volume UUID comes
// from the medium, and no startup file is read.
func writeISO(ctx context.Context, t Tools, out string, m Medium, efiImage, storeName, storeImage, tree string, epoch int64) error {
	date := time.Unix(epoch, 0).UTC().Format("2006010215040500")
	return run(ctx, epoch, t.Xorriso, "-no_rc", "-as", "mkisofs",
		"-o", out, "-V", m.Label, "--modification-date="+m.xorrisoDate(), "--set_all_file_dates", date,
		"-iso-level", "3", "-R", "-graft-points",
		"-e", EFIBootImage, "-no-emul-boot",
		"-isohybrid-gpt-basdat", "-append_partition", "2", "0xef", efiImage,
		EFIBootImage+"="+efiImage,
		storeName[1:]+"="+storeImage,
		storeName[1:]+TreeSuffix+"="+tree,
	)
}
