// Package bootcheck runs, from an initrd, the checks a signed image asks
// for, before the initrd switches root: the store against the closure
// manifest, and the opening of a dm-verity store image. It prints every
// outcome on the console and, on failure, carries out the configured
// action: stop the boot (power off), warn and continue, start an emergency
// shell, or exit with status 1 and let the caller decide.
//
// It owns both sides of its settings: InitrdArchive, at build time, turns
// the nix-closure-verify.* words of the command line about to be signed into
// a settings file beside the manifest in the signed initrd (format in
// settings.go); Boot, at boot, takes that file as the authority and lets
// the command line only make the check stricter (Decide).
//
// Settings (as command line parameters, all under "nix-closure-verify."; in
// the settings file without the prefix):
//
//	manifest=PATH      closure manifest inside the initrd (default /etc/nix-closure-verify/manifest)
//	digest=sha256:HEX  expected sha256 of the manifest file (checked before it is parsed)
//	root=DIR           where the booted system's store is mounted (default /sysroot)
//	store=on|off       check the store against the manifest (default on)
//	image=DEV          read-only store image to open through dm-verity
//	hash-device=DEV    its hash tree (default: DEV.verity, or the image itself with hash-offset)
//	hash-offset=BYTES  offset of the hash tree on the hash device (default 0)
//	root-hash=HEX      the image's dm-verity root hash
//	name=NAME          device-mapper name (default nix-store), giving /dev/mapper/NAME
//	on-failure=ACTION  halt (default: print, then power off), warn (print loudly, continue),
//	                   shell (print, then run /bin/sh), fail (print, exit with status 1)
//	jobs=N             parallel workers for the store check (default: one per CPU)
//	medium-label=LABEL the image is a file on an ISO 9660 medium with this volume label
//	medium-uuid=UUID   ... and/or this volume UUID (YYYY-MM-DD-HH-MM-SS-CC); the medium is
//	                   found among the block devices (pkg/medium), mounted read-only at
//	                   MediumMount, and image= and hash-device= are paths on it
//	medium-wait=SECS   how long to wait for the medium to appear (default 60)
//	store-mount=DIR    mount the opened image read-only at DIR (default with a medium:
//	                   ROOT/nix/store; "off": leave /dev/mapper/NAME for the system to mount)
//
// Never a silent pass: no settings and no parameter, a store check without
// a digest, a malformed or unknown setting, a setting given twice with
// different values, or a command line word that would weaken the signed
// settings is a failure, acted on by the strictest action known. Only an
// explicit store=off with no image boots without a check, and says so.
//
// Input trust: the settings file and the manifest are trusted as much as
// the initrd that carries them (the firmware verified the UKI's signature);
// the settings are still parsed strictly and bounded in size. The kernel
// command line is not trusted beyond what the settings allow: a stub may
// append words nobody signed (see README.md, "At boot").
package bootcheck
