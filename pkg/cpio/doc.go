// Package cpio writes cpio archives in the "newc" format (the SVR4 portable
// format without checksums, magic 070701) that the Linux kernel unpacks as an
// initramfs and that systemd-stub builds for its companion files.
//
// Output is deterministic: entries are written sorted byte-wise by name with
// every parent directory before its children, inode numbers count up from 1
// in that order, and owner (uid/gid 0), link count (1) and mtime (0) are
// fixed, so the same entries always give the same bytes whatever the host's
// file metadata. Contents are streamed from an io.Reader of known size;
// memory stays flat whatever the size of the files.
//
// The package trusts the names and contents it is given only as far as their
// shape: names must be clean relative paths (no "..", no empty or "."
// components, no leading "/", no NUL), a reader that yields more or fewer
// bytes than the size it was announced with is an error, and nothing is
// written past the first error.
package cpio
