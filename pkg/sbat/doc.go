// Package sbat parses, checks and merges SBAT (Secure Boot Advanced
// Targeting) metadata, the CSV that shim reads from an image's .sbat
// section to decide whether it is revoked (rhboot/shim SBAT.md).
//
// Merge combines the stub's, the kernel's, default and user entries: a later
// entry for a component replaces the earlier one in place (never lowering
// its generation), so a user can raise a generation; UKIDefaults gives the
// lines shim-review expects of a UKI for a Vendor.
//
// Input is untrusted text (a user's file or a section of a stub or kernel
// image): every line is checked to have exactly six non-empty fields and a
// numeric generation, and a bad line gives an error naming its source and
// line number. Nothing is ever silently dropped except blank lines and the
// NUL padding images carry after the text.
package sbat
