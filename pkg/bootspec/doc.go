// Package bootspec reads NixOS bootspec documents (RFC 0125, version 1):
// the boot.json every system toplevel carries, saying which kernel, initrd,
// init and kernel parameters boot it, and its specialisations, each a whole
// document of its own.
//
// Trust: a document comes from a store path and names other store paths;
// this package checks its shape strictly (the version 1 key, every required
// field present and of the right type, absolute paths, specialisation names
// usable in a file name, bounded size and nesting) and refuses anything
// else, so a generation that does not parse is reported, never booted with
// guessed values. It does not open the files a document names.
package bootspec
