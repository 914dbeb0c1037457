// Package veritydev sets up dm-verity devices for read-only store images by
// talking to device-mapper directly (no veritysetup, libdevmapper or udev),
// as an initrd must: files are attached through read-only loop devices,
// block devices are used as they are.
//
// Before anything is set up, the top of the hash tree is checked against
// the trusted root hash (one hash block is read), so a wrong root hash, salt
// or tree is refused at once; the kernel then verifies every data block as
// it is read. Images and trees are untrusted; the root hash is the trust
// anchor and comes from the caller (a signed kernel command line).
package veritydev
