// Package sbat parses, checks and merges SBAT (Secure Boot Advanced
// Targeting) metadata, the CSV that shim reads from an image's .sbat
// section to decide whether it is revoked (rhboot/shim SBAT.md).
//
// Input is untrusted text (a user's file or a section of a stub or kernel
// image): every line is checked to have exactly six non-empty fields and a
// numeric generation, and a bad line gives an error naming its source and
// line number. Nothing is ever silently dropped except blank lines and the
// NUL padding images carry after the text.
package sbat
