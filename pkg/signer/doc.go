// Package signer is the one seam every signature the tools make goes
// through: Open turns a key reference into a crypto.Signer, whether the
// key is a file, on a PKCS#11 token or inside a TPM 2.0.
//
// Key references:
//
//   - a path: a PEM or DER private key file, read through package keys
//     (refused under /nix/store; a file others can read gives a warning);
//   - pkcs11:...: an RFC 7512 URI (package pkcs11uri) naming a token
//     (token=, serial= or slot-id=, exactly one) and a key on it (object=
//     and/or id=); the module from module-path=, module-name= (looked up in
//     the usual PKCS#11 module directories) or p11-kit's proxy; the PIN from
//     pin-source=file:PATH, else from the environment variable
//     Options.PINEnv (NIX_UKI_PKCS11_PIN), never from the URI itself unless
//     Options.AllowPINValue. Signing through crypto11 needs cgo: a program
//     built with CGO_ENABLED=0 refuses pkcs11: references with ErrNoPKCS11;
//   - tpm:handle=0x81000001 or tpm:blob=PATH: a key inside a TPM 2.0
//     (package tpmkey), a persistent handle or a key blob made by
//     tpmkey.Create; the TPM is /dev/tpmrm0 unless the query says
//     ?device=PATH or ?swtpm=SOCKET (a swtpm's Unix socket, or HOST:PORT for
//     its TCP server), as in tpm:blob=/var/lib/keys/db.tpmkey?device=/dev/tpmrm0.
//
// A reference is untrusted text: it is parsed strictly (unknown or repeated
// attributes are refused) and bounded in length. The key's owner (token,
// TPM) is trusted to be what it says; the public key is read from it once
// and signatures from a TPM are checked against it. Secrets (a PIN) are
// read only from where the reference says, are never part of an error
// message, and a PIN file others can read gives a warning.
//
// For programs that sign boot images (the installer), OpenAuthenticode
// opens a key reference and a certificate file as one Authenticode signer.
package signer
