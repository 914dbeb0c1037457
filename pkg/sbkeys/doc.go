// Package sbkeys is a machine owner's Secure Boot key set: the Platform
// Key (PK), the Key Exchange Key (KEK), the signature database key (db),
// and the owner GUID their signature list entries carry (UEFI 2.10
// section 32.3 and 32.4), kept in sbctl's directory layout so a set made
// by sbctl (and so by lanzaboote's instructions) is used as is and ours
// is used by them:
//
//	DIR/GUID                 the owner GUID, text
//	DIR/keys/PK/PK.key       PKCS#8 PEM private key (mode 0600)
//	DIR/keys/PK/PK.pem       self-signed certificate, PEM
//	DIR/keys/KEK/KEK.key ... and the same for KEK and db
//
// A key that stays on a PKCS#11 token or in a TPM 2.0 has, in place of
// NAME.key, a NAME.ref file (ours alone; sbctl does not read it) holding
// its reference as pkg/signer reads it, on one line:
//
//	DIR/keys/PK/PK.ref       pkcs11:token=sb;object=PK?module-path=...&pin-source=file:/run/pin
//
// Load opens such keys through pkg/signer (RefKey: once to check them,
// then for each signature, closed right after, as a swtpm serves one
// connection at a time).
// Sets without .ref files (sbctl's, lanzaboote's) load as they always did.
//
// Keys are RSA (2048 or 4096 bits): edk2, and so OVMF, refuses any other
// key in PK, KEK and db; Create refuses any other key on a token or TPM.
//
// Security: Create writes private keys; they are never written under
// /nix/store, never over existing files, and with mode 0600 in
// directories of mode 0700. A .ref file holds no secret (a PIN is read
// from where the reference says, and a PIN in the reference is refused).
// Load trusts the key directory as the caller's: keys are read through
// pkg/keys (refused inside a Nix store, warned about when others can
// read them), a .ref file is bounded and parsed strictly (ParseRef), the
// token or TPM it names is trusted as pkg/signer trusts it, and each
// certificate must hold the public half of its key.
package sbkeys
