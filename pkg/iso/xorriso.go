package iso

import "context"

// writeISO runs xorriso's mkisofs emulation: Rock Ridge names, ISO level 3
// (files over 4 GiB), the EFI image as the El Torito EFI boot entry and,
// appended as GPT partition 2 (type EF, the ESP), the MBR/GPT hybrid that
// lets the same bytes boot as a disk. Only the listed files go in, by
// graft points, so nothing else from the build directory can slip in;
// dates come from SOURCE_DATE_EPOCH and the volume UUID from the medium.
func writeISO(ctx context.Context, t Tools, out string, m Medium, efiImage, storeImage, tree string, epoch int64) error {
	return run(ctx, epoch, t.Xorriso, "-as", "mkisofs",
		"-o", out, "-V", m.Label, "--modification-date="+m.xorrisoDate(),
		"-iso-level", "3", "-R", "-graft-points",
		"-e", EFIBootImage, "-no-emul-boot",
		"-isohybrid-gpt-basdat", "-append_partition", "2", "0xef", efiImage,
		EFIBootImage+"="+efiImage,
		StoreImagePath[1:]+"="+storeImage,
		StoreTreePath[1:]+"="+tree,
	)
}
