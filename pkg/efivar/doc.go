// Package efivar builds the UEFI Secure Boot variables a machine's owner
// enrolls: EFI signature lists (UEFI 2.10 section 32.4.1, "Signature
// Database") holding X.509 certificates or hashes, and time-based
// authenticated writes of PK, KEK, db and dbx (section 8.2,
// EFI_VARIABLE_AUTHENTICATION_2), in the form Linux's efivarfs takes them.
//
// The output matches efitools byte for byte: X509List gives what
// cert-to-efi-sig-list writes, and Sign with an RSA key what
// sign-efi-sig-list writes for the same timestamp (its PKCS#7 is a
// detached SignedData without signed attributes, the ContentInfo wrapper
// left off, as EDK2 expects). Output is deterministic for RSA keys.
//
// Security: ParseSignatureLists takes untrusted bytes (a variable read
// back from firmware); every length is checked against the data and
// malformed lists give ErrMalformed, never a panic. Keys and certificates
// given to Sign are trusted to be the caller's.
package efivar
