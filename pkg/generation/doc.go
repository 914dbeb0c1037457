// Package generation lists a NixOS system profile's generations: the links
// system-N-link in a profile directory (normally /nix/var/nix/profiles),
// their numbers, the links' modification times (when the generation was
// made) and each generation's bootspec.
//
// Trust: the profile directory is the caller's choice; its entries are
// read, never written. A link that does not resolve or whose bootspec does
// not parse is returned with its error, so that the caller can report it
// and, like lanzaboote, hold back garbage collection for that run.
package generation
