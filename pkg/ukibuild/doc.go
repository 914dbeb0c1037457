// Package ukibuild composes a Unified Kernel Image from its inputs: the
// stub, kernel, initrds, command line, os-release, SBAT, extra sections, a
// closure manifest, the Secure Boot signer and the PCR 11 policy keys. It is
// the one place where those inputs become an image, so `nix-uki build`,
// `nix-uki measure` and the installer make the same bytes and the same PCR
// prediction from the same inputs.
//
// Compose checks the inputs, applies the rules that tie them together (the
// closure manifest's cpio after the initrds and its digest on the command
// line, the default .uname and .pcrpkey, SBAT merging), predicts PCR 11
// when asked, signs the PCR policies and adds .pcrsig; the returned UKI
// writes the image, signed in the same pass when a signer is given. The
// same inputs always give the same bytes.
//
// Profiles (systemd-stub 257 and later): Inputs.Profile and
// Inputs.Profiles make a multi-profile UKI, with a prediction and .pcrsig
// per profile (UKI.Profiles) as ukify and systemd-measure make them;
// ComposeProfile makes a profile PE, ReadProfilePE reads one (ukify's
// too).
//
// It lives apart from pkg/uki (sections and PE layout) because it needs
// pkg/measure, which itself reads images through pkg/uki.
//
// Input trust: file names and keys come from the caller. The files'
// contents are parsed as untrusted (by pkg/uki, pkg/sbat, pkg/closure and
// pkg/kcmdline): a malformed stub, kernel, manifest, SBAT or command line is
// an error naming the input (InputError), never a panic. A profile PE
// given to ReadProfilePE is untrusted: each section read is bounded by the
// file and by 64 MiB (FuzzReadProfile). Nothing here logs
// or exits.
package ukibuild
