// Package medium finds, from an initrd, the block device that holds an
// ISO 9660 volume with a given label and UUID (pkg/iso9660), waiting a
// bounded time for it to appear (a USB stick or optical drive may show up
// after the initrd starts).
//
// Block devices are listed from sysfs (/sys/class/block) and read through
// their /dev nodes, one sector each. When a whole disk and one of its
// partitions both match (a hybrid ISO written to a USB stick shows its
// volume on the disk and, through its partition table, may show it again),
// the disk is taken; any other second match is refused as ambiguous rather
// than guessed.
//
// Input trust: none. Devices are anyone's; a device that cannot be read or
// holds no ISO 9660 volume is skipped. Which device is chosen decides only
// which bytes the boot check then verifies through dm-verity against the
// signed root hash.
package medium
