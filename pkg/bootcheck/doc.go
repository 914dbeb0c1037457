// Package bootcheck runs, from an initrd, the checks a signed kernel command
// line asks for, before the initrd switches root: the store against the
// closure manifest, and the opening of a dm-verity store image. It prints
// the outcome on the console and, on failure, carries out the configured
// action: stop the boot (power off), warn and continue, or start an
// emergency shell.
//
// Kernel command line parameters (all under "nix-closure-verify."):
//
//	manifest=PATH      closure manifest inside the initrd (default /etc/nix-closure-verify/manifest)
//	digest=sha256:HEX  expected sha256 of the manifest file (checked before it is parsed)
//	root=DIR           where the booted system's store is mounted (default /sysroot)
//	store=off          skip the store check (for example when the store is a verity image)
//	image=DEV          read-only store image to open through dm-verity
//	hash-device=DEV    its hash tree (default: the image itself, after the data, see hash-offset)
//	hash-offset=BYTES  offset of the hash tree on the hash device (default 0)
//	root-hash=HEX      the image's dm-verity root hash
//	name=NAME          device-mapper name (default nix-store), giving /dev/mapper/NAME
//	on-failure=ACTION  halt (default: print, then power off), warn (print loudly, continue),
//	                   shell (print, then run /bin/sh), fail (print, exit with status 1)
//	jobs=N             parallel workers for the store check (default: one per CPU)
//
// Input trust: the command line is trusted as much as the UKI that carries
// it (the firmware verified its signature); its values are still validated,
// and a malformed one is a failure, never a silent pass.
package bootcheck
