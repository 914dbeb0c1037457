// Package closure records and checks the NAR hashes of a Nix store closure.
//
// A Manifest lists every store path of a closure with its NAR sha256 and NAR
// size in a versioned, deterministic text format (see manifest.go; version 2,
// manifest_v2.go, also lists every entry inside each store path with its
// type, size, sha256 and fs-verity digest, read as a stream by
// ManifestReader, written from the store by RecordV2 only where the store
// reproduces the NAR hash, and checked file by file by CheckV2). It is
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
// file; in version 2 also entries out of NAR order, invalid or
// non-canonically escaped names, and entries that do not add up to their
// path's NAR size. Counts in a manifest never size an allocation; a version
// 2 reader holds one store path's entries at a time. The root directory given by the caller is trusted as a path (it is
// resolved as given, symlinks included); everything below it is untrusted
// and only read: the store directory is opened without following any
// symlink on the way (a symlink there is ErrSymlinkAboveStore), every store
// path is opened from that directory's descriptor, and nothing inside a
// store path is followed. Memory stays flat: files are streamed through the
// NAR hasher.
package closure
