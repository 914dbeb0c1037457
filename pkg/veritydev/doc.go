// Package veritydev sets up dm-verity devices for read-only store images by
// talking to device-mapper directly (no veritysetup, libdevmapper or udev),
// as an initrd must: files are attached through read-only loop devices,
// block devices are used as they are. It also formats and verifies images
// by path, the same way, for the commands.
//
// Before anything is set up, the top of the hash tree is checked against
// the trusted root hash (one hash block is read), so a wrong root hash, salt
// or tree is refused at once; the kernel then verifies every data block as
// it is read. A tree on the image's own device must lie after the data it
// covers (verity.ErrOverlap otherwise); whether image and hash device are
// one is decided by what they are (device and inode, or device number), not
// by their names.
//
// Images and trees are untrusted; the root hash is the trust anchor and
// comes from the caller (a signed kernel command line). The kernel is
// reached through a Mapper: Kernel is the real one, proven by the VM tests;
// unit tests use a fake.
package veritydev
