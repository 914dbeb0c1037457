// Package install puts every bootable NixOS generation onto one or more EFI
// system partitions as signed Unified Kernel Images behind systemd-boot, the
// work `nix-uki install` does at each `nixos-rebuild switch`.
//
// Config is the install configuration file the NixOS module writes (JSON, see
// Load); Run reads generations (pkg/generation, pkg/bootspec), composes each
// UKI the way `nix-uki build` does (pkg/ukibuild), and hands a plan to pkg/esp,
// which writes it crash-safely and space-aware.
//
// Trust: the configuration file, the bootspec documents and the store paths
// they name are trusted to be what the administrator built (they come from
// /nix/store); they are still parsed strictly, and a malformed one is an
// error, never a silent default. The ESP's existing contents are not
// trusted: installed files are re-checked (size, content hash, signature)
// before being kept. Each partition's digest record (esp.DigestRecordPath,
// the XXH64 digest and size of each UKI as written) lets a UKI that is
// byte for byte as written skip the signature check: the record only saves
// work, and one that is missing, stale or malformed costs the full check.
// It does not protect against someone who can write the ESP (they can
// rewrite the record too); Secure Boot does, by checking each image's
// signature at boot.
//
// With closureCheck.fsverity the install also changes the store: before an
// entry's UKI is written, fs-verity is enabled on every file of its closure
// (pkg/storeverity), which the kernel then keeps read-only and verified;
// the store's files are checked against the version 2 manifest just made
// of them first, and that manifest only exists if each store path
// reproduced Nix's NAR hash.
package install
