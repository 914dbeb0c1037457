// Package initrd builds small initramfs images for booting tests and
// boot-time checks: a static busybox, an /init shell script that prints a
// marker on the console, loads kernel modules, optionally runs one program
// and reports its exit status, then powers the machine off; plus any extra
// files (for example this project's own static binaries).
//
// Kernel modules are copied from a modules directory (/lib/modules/VERSION)
// with their dependencies resolved from its modules.dep; modules the kernel
// has built in (modules.builtin) are skipped.
//
// Everything is written through pkg/cpio, so the same Spec and the same
// host files give the same bytes. The package trusts the host files it is
// pointed at (busybox, modules, extra files) as the caller's choice; it
// checks only that names are clean paths and that modules.dep is well
// formed, and reports a dependency cycle or a missing module as an error.
package initrd
