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
// read by uki.ParseSDMagic), and which it lists itself: systemd-stub keeps
// the names of the sections it knows in an array, in measuring order
// (uki.ReadStubSections). RulesForImage takes the version's rules and
// checks them against that list:
//
//	systemd  sections the stub lists (all but .pcrsig measured)
//	252-253  .linux .osrel .cmdline .initrd .splash .dtb .pcrsig .pcrpkey
//	254-255  .linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrsig .pcrpkey
//	256      .linux .osrel .cmdline .initrd .ucode .splash .dtb .uname .sbat .pcrsig .pcrpkey
//	257      ... .pcrpkey .profile .dtbauto .hwids
//	258-262  ... .pcrpkey .profile .dtbauto .hwids .efifw
//
// The lists of 252, 254, 257 and 262 were read from Debian's stubs, and
// each version's rules proven by its own systemd-measure (calculate and
// sign, every bank and phase) and by booting a UKI on it (tests/vm); 253,
// 255, 256 and 258-261 come from systemd's sources (src/fundamental/uki.h).
// A known version whose list disagrees is refused (ErrStubTableMismatch);
// a newer one is given the newest rules with Rules.Warning when its list
// equals the newest's, else refused with ErrUnknownStubVersion saying what
// to do: a prediction from the wrong rules would seal disks to a PCR value
// that never occurs. systemd-measure 257 measures --hwids under the name
// .dtbauto and --dtbauto under .hwids; the stub's list decides here.
//
// Multi-profile UKIs (257+): the sections before the first .profile are
// the base; profile N (the stub's "@N") is the base with the sections from
// the N-th .profile to the next replacing the base's of the same name
// (PredictImageProfiles, ProfileSections). Several .dtbauto sections are
// not modelled: a section name given twice is an error.
//
// Checked against systemd-measure 252 (Debian 12) and a TPM: the signed
// policy was satisfied in swtpm (TPM2_VerifySignature, PolicyPCR,
// PolicyAuthorize), and in a booted VM for 252, 254, 257 and 262.
//
// # Signatures (.pcrsig)
//
// For each bank and phase path: pol = PolicyPCRDigest (a SHA-256 policy
// over the bank's PCR 11 selection and SHA256(value)), sig =
// RSASSA-PKCS1-v1_5 over H_bank(pol) with the bank's hash (over
// SHA256(pol) in every bank for systemd 260 and later), pkfp = SHA-256 of
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
