// Package pkcs7 writes and describes PKCS#7 SignedData (RFC 2315 section 9)
// as UEFI uses it: Authenticode signatures of PE images (content included,
// signed attributes) and authenticated EFI variables (content detached, no
// attributes). One signer, SHA-256, RSA (PKCS#1 v1.5) or ECDSA P-256, no
// signing time: the same inputs give the same bytes (ECDSA nonces follow
// RFC 6979).
//
// The structures are exported for readers (pkg/authenticode parses them);
// input is untrusted there, and encoding/asn1 reports malformed DER as an
// error.
package pkcs7
