// Package pkcs11uri parses PKCS#11 URIs (RFC 7512) that name one private
// key on one token: pkcs11:token=...;object=...;id=...?module-path=...&pin-source=file:...
//
// The URI is untrusted text (a command-line argument, a configuration
// value): it is at most MaxLength bytes, every attribute is decoded once
// (RFC 3986 percent-encoding), and what this package does not understand is
// refused, never ignored: an unknown attribute, an attribute given twice, a
// malformed escape, a type other than private. A URI that carries its PIN
// (pin-value) parses, and Parse reports it in URI.PINValue; whether it may
// be used is the caller's decision (package signer refuses it unless told
// otherwise), because a PIN on a command line is visible to every user of
// the machine through /proc.
package pkcs11uri
