// Package uki assembles and inspects Unified Kernel Images: a systemd-stub
// PE image with the kernel, initrd, command line and other payloads added as
// sections (systemd "Unified Kernel Image" specification, systemd-stub(7)).
//
// A Spec is the list of sections an image will contain, with their exact
// bytes; Ordered gives them in the stub's canonical (measurement) order, so
// a PCR 11 prediction can be computed from the Spec before the image is
// written, and sections computed from it (.pcrsig) added afterwards. Write
// streams the image: payloads are read once from their files, hashed for
// Authenticode and summed for the PE CheckSum while being written, so
// memory stays flat whatever their size.
//
// Multi-profile UKIs (systemd-stub 257 and later): AddProfile adds a
// profile (.profile and the sections it replaces) after the base, laid out
// as ukify does; ProfileSections is what the stub sees for one profile;
// NewProfileSpec is a profile PE for ukify's --join-profile.
//
// ReadStubSections reads the stub's own table of the sections it knows
// (in measuring order) from its code and data: the array of string
// pointers found through the address of ".linux".
//
// ParseSDMagic is the one parser of a stub's .sdmagic line ("#### LoaderInfo:
// systemd-stub 252.39-1~deb12u2 ####"); pkg/measure takes the stub version
// from it.
//
// Input trust: the stub, kernel and payloads are files chosen by the user
// but parsed as untrusted; a malformed stub or kernel gives an error, never a
// panic. Section names are checked (at most 8 printable bytes, and none
// that starts with a standard name, which systemd-stub would match by
// prefix: ErrShadowedName) and SBAT text is validated line by line. Images
// given to Inspect are hostile: every read is bounded by the file, and the
// zero padding a section's VirtualSize claims is hashed only when the
// image's total padding is within the file's size (CheckVirtualSizes).
// ReadStubSections reads at most 32 MiB of the stub's sections, looks up
// at most 16 ".linux" strings and 64 names, in one pass over the data.
package uki
