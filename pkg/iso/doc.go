// Package iso assembles a hybrid installer ISO whose boot chain is
// verifiable end to end: firmware -> shim (Microsoft-signed, optional) ->
// our signed UKI (pkg/ukibuild) -> the initrd opens the store image from
// the ISO through dm-verity, with the root hash on the UKI's signed command
// line.
//
// The ISO holds, in its ISO 9660 tree, the store image (a squashfs made
// with mksquashfs from the closure's store paths, or one given prebuilt),
// its dm-verity tree (pkg/veritydev, byte-identical to veritysetup's) and
// the EFI boot image; the EFI boot image (a FAT file system made with
// mkfs.vfat and mtools) holds EFI/BOOT/BOOTX64.EFI (shim, or the UKI
// itself) and, with shim, EFI/BOOT/grubx64.efi (the UKI, which shim
// loads) and optionally mmx64.efi (MokManager). xorriso writes it with an
// El Torito EFI entry and a GPT/MBR hybrid layout (-isohybrid-gpt-basdat,
// the EFI image appended as partition 2), so the same bytes boot from an
// optical drive and written to a USB disk.
//
// Reproducible: every tool runs with fixed dates (SOURCE_DATE_EPOCH, or
// mksquashfs' -mkfs-time and -all-time 1, the store's own mtime), no
// extended attributes, root ownership and sorted entries; the verity salt
// and UUID and the ISO's volume UUID are derived from the contents, so the
// same inputs give the same ISO bytes wherever they are built.
//
// The boot side finds the medium by the volume label and UUID written here
// (pkg/iso9660 reads them, pkg/bootcheck opens the image); the command
// line words that tell it where to look are made by Medium.Params.
//
// Input trust: paths, keys and tools come from the caller (a build
// script); file contents are the caller's too, except that the UKI's
// inputs are checked by pkg/ukibuild and a prebuilt store image only has
// its tree computed. The external tools' output is not parsed beyond
// their exit status.
package iso
