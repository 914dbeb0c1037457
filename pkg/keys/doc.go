// Package keys loads signing keys and certificates from PEM or DER files.
//
// Private keys are secrets, and /nix/store is world-readable: a key that can
// be reached inside a Nix store is refused (ErrInStore), whether its name,
// a symlink, a bind mount of the store or of a directory in it, or a hard
// link leads there (a key file with several links on the store's
// filesystem is refused, as its other names cannot be checked). A key file
// readable by group or others produces a warning for the caller to print.
// Inputs are untrusted files: a key file is opened once, checked and read
// through that descriptor, must be a regular file of at most 1 MiB, and
// malformed contents give errors, never panics. The mount table
// (/proc/self/mountinfo) is trusted as the kernel's.
package keys
