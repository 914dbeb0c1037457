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
// Keys are RSA (2048 or 4096 bits): edk2, and so OVMF, refuses any other
// key in PK, KEK and db.
//
// Security: Create writes private keys; they are never written under
// /nix/store, never over existing files, and with mode 0600 in
// directories of mode 0700. Load trusts the key directory as the
// caller's: keys are read through pkg/keys (refused inside a Nix store,
// warned about when others can read them), and each certificate must
// hold the public half of its key.
package sbkeys
