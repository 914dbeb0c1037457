// Package closure records and checks the NAR hashes of a Nix store closure.
//
// A Manifest lists every store path of a closure with its NAR sha256 and NAR
// size in a versioned, deterministic text format (see manifest.go). It is
// made at build time from what Nix already produces (a closureInfo
// registration, an exportReferencesGraph .attrs.json, `nix path-info --json`)
// or by hashing the paths here (Rehash). Check compares a store tree, for
// example /sysroot/nix/store in an initrd, with a manifest, on all cores, and
// reports every difference: missing paths, NAR hash and size, and the
// metadata Nix leaves behind that NAR does not cover (modes, setuid bits,
// entry types, mtime, owner, extended attributes such as file capabilities).
//
// Input trust: the manifest's authenticity comes from outside (its digest on
// a signed kernel command line); this package checks its syntax strictly and
// refuses anything ambiguous: unknown versions, unsorted or duplicate paths,
// paths outside the store directory, names with "/" or "..", a truncated
// file. The root directory given by the caller is trusted as a path (it is
// resolved as given, symlinks included); everything below it is untrusted
// and only read: the store directory is opened without following any
// symlink on the way (a symlink there is ErrSymlinkAboveStore), every store
// path is opened from that directory's descriptor, and nothing inside a
// store path is followed. Memory stays flat: files are streamed through the
// NAR hasher.
package closure
