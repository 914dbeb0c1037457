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
// before being kept.
package install
