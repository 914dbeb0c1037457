// Package authenticode computes, creates and verifies Authenticode
// signatures of PE32+ images, the signatures UEFI Secure Boot checks
// (Microsoft "Windows Authenticode Portable Executable Signature Format";
// PE/COFF "The Attribute Certificate Table").
//
// Hashing returns digests; trust is a separate step. Hash follows the
// algorithm UEFI firmware (EDK2's DxeImageVerificationLib) uses. Sign writes
// a PKCS#7 SignedData of our own with SHA-256, no signing time and
// deterministic signatures (RSA PKCS#1 v1.5, or ECDSA with RFC 6979 nonces),
// so the same image and key give the same bytes. Verify recomputes the
// image's hash, compares it with the digest inside each signature, checks the
// PKCS#7 signature over the signed attributes and the X.509 chain to the
// caller's certificates.
//
// Security: images and signatures are untrusted input. Every length is
// bounds-checked, malformed structures give errors, never panics, and a
// signature is accepted only if it covers this very image: a valid
// signature copied from another image fails with ErrDigestMismatch.
// Certificate validity periods are not enforced, for any certificate of
// the chain, as UEFI firmware, having no trusted clock, does not enforce
// them (see Signature.TrustChain). A valid signature made in a way Sign
// never signs (SHA-1 digests or certificate signatures, weak RSA,
// mismatched digest algorithms, a signing certificate not meant for code
// signing) fails with ErrLegacy unless
// Options.AllowLegacy says otherwise. The chain search is bounded
// (maxChainDepth).
package authenticode
