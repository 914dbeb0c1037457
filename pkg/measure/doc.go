// Package measure predicts the TPM PCR 11 values systemd-stub produces when
// it boots a Unified Kernel Image, and signs TPM2 PCR policies for them the
// way systemd-measure and ukify do, so that a disk key can be bound to "an
// OS signed by this key" rather than to fixed PCR values.
//
// # Measurement
//
// Every bank starts at zero and extend(x) sets PCR = H(PCR || x). The stub
// walks its list of known sections in canonical order and, for each one
// present with a non-zero VirtualSize, extends H(name || NUL) and then
// H(the VirtualSize bytes of the section in memory). .pcrsig is never
// measured (it holds signatures of the result). After the stub,
// systemd-pcrphase extends H(word) for each boot phase word (no NUL);
// a phase path such as "enter-initrd:leave-initrd" names the words seen so
// far, and the empty path is the state right after the stub.
//
// # Stub versions
//
// Which sections are measured depends on the stub, whose version is in its
// .sdmagic section ("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####",
// read by uki.ParseSDMagic). RulesForStub maps it to:
//
//	systemd  measured sections, in order
//	252-253  .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey
//	254-255  .linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrpkey
//	256      .linux .osrel .cmdline .initrd .ucode .splash .dtb .uname .sbat .pcrpkey
//	257      ... .pcrpkey .profile .dtbauto .hwids
//	258      ... .pcrpkey .profile .dtbauto .hwids .efifw
//
// 252 is the first stub measuring sections into PCR 11 (systemd PR 24146);
// Debian 12 ships it. In 253 ukify could add .uname but marked it
// unmeasured; the stub measures .uname and .sbat from 254 (PRs 27358,
// 28187; issue 28587 "ukify miscalculates pcr11 since v254"). .ucode came
// in 256, .profile, .dtbauto and .hwids in 257, .efifw in 258 (systemd
// src/fundamental/uki.h). Any other version is refused with
// ErrUnknownStubVersion naming it: a prediction from the wrong rules would
// seal disks to a PCR value that never occurs. Multi-profile UKIs (257+,
// several .profile sections) and several .dtbauto sections are not
// modelled: a section name given twice is an error.
//
// Checked against systemd-measure 252 (Debian 12): Predict gives the same
// values as "systemd-measure calculate" for every bank and phase path, and
// Sign the same bytes as "systemd-measure sign". The signed policy was
// satisfied in swtpm (TPM2_VerifySignature, PolicyPCR, PolicyAuthorize).
//
// # Signatures (.pcrsig)
//
// For each bank and phase path: pol = PolicyPCRDigest (a SHA-256 policy
// over the bank's PCR 11 selection and SHA256(value)), sig =
// RSASSA-PKCS1-v1_5 over H_bank(pol) with the bank's hash, pkfp = SHA-256 of
// the key's PKCS#1 DER. Only RSA keys are accepted: systemd verifies these
// signatures with TPM2_VerifySignature as RSASSA. Note that systemd's
// unlock side always verifies RSASSA-SHA256, so only the sha256 bank's
// entries are usable by systemd-cryptsetup; the other banks' entries are
// still produced, as systemd-measure does.
//
// # Trust and hostile input
//
// Section contents are hashed, never interpreted; they are read once,
// front to back, in fixed-size chunks, so memory does not grow with their
// size. PredictImage reads an untrusted image: it refuses one whose
// sections claim more zero padding than the file's size
// (uki.ErrVirtualSize), so the work stays bounded by the file. A .pcrsig given to ParsePCRSig is untrusted: size is capped, any
// deviation from the format gives an ErrInvalidPCRSig error, and parsing a
// signature says nothing about its validity (use Verify or Covers). Keys
// come from the caller (see pkg/keys); a non-RSA key gives ErrNotRSA and a
// public key that is not the private key's gives ErrKeyMismatch. Nothing
// here panics, logs or exits.
package measure
