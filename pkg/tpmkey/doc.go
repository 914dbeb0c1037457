// Package tpmkey keeps signing keys inside a TPM 2.0: it creates them
// under the TPM's storage root key, stores what the TPM hands back (its
// public area and its private area, which only that TPM can decrypt) in a
// key blob file, and signs with them, by blob or by persistent handle, as a
// crypto.Signer.
//
// Key blob file: PEM "TSS2 PRIVATE KEY", the ASN.1 TSSPrivKey structure
// tpm2-tss-engine and tpm2-openssl write (type loadableKey
// 2.23.133.10.1.3, emptyAuth TRUE, parent TPM_RH_OWNER 0x40000001, pubkey
// a TPM2B_PUBLIC, privkey a TPM2B_PRIVATE; TPM 2.0 Part 2, 12.2.5 and
// 12.3.7). The parent is always the storage root key the owner hierarchy
// derives from the TCG reference ECC P-256 SRK template (TCG TPM v2.0
// Provisioning Guidance, 7.5.1), recreated by CreatePrimary at each use:
// the same TPM always gives the same SRK, so nothing needs to be made
// persistent.
//
// Keys are RSA 2048 (for Authenticode and .pcrsig: RSASSA-PKCS1-v1_5 with
// the hash the caller names, or RSA-PSS) or ECDSA P-256, created with an
// empty authorization value, fixedTPM and fixedParent (the private key
// never leaves this TPM in the clear), sign only, and no fixed scheme, so
// one key signs SHA-1, SHA-256, SHA-384 and SHA-512 digests (systemd's
// .pcrsig covers every PCR bank).
//
// Trust: a key blob file is untrusted input (at most MaxBlob bytes; a
// malformed one is an error, never a panic); the TPM is trusted to be the
// TPM, but every signature it returns is checked against the key's public
// key before it is handed back, so a TPM or emulator that answers garbage
// cannot produce a bad signature silently.
package tpmkey
