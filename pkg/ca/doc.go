// Package ca makes the certificates of a small organisation CA for Secure
// Boot: a self-signed organisation CA (the only certificate db needs),
// machine certificates it issues for signing boot images, and machine
// sub-CAs that issue those for a machine or a group of machines.
//
// Profiles (RFC 5280 extensions; what firmware and shim check):
//
//   - organisation CA: basicConstraints CA:TRUE (critical), keyUsage
//     keyCertSign and cRLSign (critical), subject key identifier;
//   - machine sub-CA: CA:TRUE with pathLenConstraint 0 (critical; it
//     issues machine certificates, never further CAs), keyUsage keyCertSign
//     and cRLSign (critical), extKeyUsage codeSigning, authority and subject
//     key identifiers;
//   - machine certificate: CA:FALSE (critical), keyUsage digitalSignature
//     (critical), extKeyUsage codeSigning, authority and subject key
//     identifiers.
//
// EDK2 (OVMF, and the firmware built from it) and shim verify Authenticode
// with OpenSSL under X509_PURPOSE_ANY, partial chains allowed and no time
// checks, so extended key usages along the chain are not what makes them
// accept it; a sub-CA still carries codeSigning so that verifiers that
// chain extended key usages (osslsigncode's purpose check, Windows) accept
// what it issues. An Authenticode signature made with a machine
// certificate carries the intermediates given with it (package
// authenticode embeds every certificate after the signing one), so db holds
// only the organisation CA.
//
// Certificates are deterministic: the serial number is derived from what
// the certificate says (issuer, subject, public key, validity, profile), so
// the same inputs and an RSA key give the same bytes. Keys are RSA 2048 to
// 4096 or ECDSA P-256; use RSA for anything firmware must check (OVMF
// refuses EC certificates in db). Keys are crypto.Signers from package
// signer: a file, a token or a TPM. Inputs (names, dates, keys) are
// checked; certificates read back (issuers) are trusted as the caller's.
package ca
