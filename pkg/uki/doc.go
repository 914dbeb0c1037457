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
// Input trust: the stub, kernel and payloads are files chosen by the user
// but parsed as untrusted; a malformed stub or kernel gives an error, never a
// panic. Section names are checked (at most 8 printable bytes) and SBAT text
// is validated line by line.
package uki
