// Package keys loads signing keys and certificates from PEM or DER files.
//
// Private keys are secrets, and /nix/store is world-readable: a key whose path
// (after resolving symlinks) lies in a Nix store is refused, and a key file
// readable by group or others produces a warning for the caller to print.
// Inputs are untrusted files; malformed ones give errors, never panics.
package keys
