// Package iso9660 reads what identifies an ISO 9660 volume: the volume
// identifier (label) and the volume UUID as blkid shows it (the
// modification date of the primary volume descriptor, or the creation date
// when that is unset, as "YYYY-MM-DD-HH-MM-SS-CC"). The boot check uses it
// to find the medium its store image is on.
//
// Layout (ECMA-119, 8.4): the primary volume descriptor is the 2048-byte
// sector 16 of the volume: type 1, "CD001", version 1; the volume
// identifier at bytes 40-71 (space padded), the creation date at 813 and
// the modification date at 830 (16 ASCII digits and a time zone byte).
//
// Security: the device is untrusted (anyone can plug in a disk). Exactly
// one sector is read; a short device, another signature, or a label or
// date that is not printable ASCII is an error, never a panic. Finding the
// medium by label only chooses which bytes the boot check opens: their
// integrity comes from dm-verity and the signed root hash, not from here.
package iso9660
