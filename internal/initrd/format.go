package initrd

import "regexp"

// Lines /init prints on the console, so that a test can wait for them.
const (
	// ExitStatusPrefix starts the line reporting Spec.Run's exit status:
	// "initrd: exit status 0".
	ExitStatusPrefix = "initrd: exit status "
	// ModuleFailedPrefix starts the line reporting a module that failed to
	// load: "initrd: insmod failed: NAME".
	ModuleFailedPrefix = "initrd: insmod failed: "
	// PowerOffLine is printed just before /init powers the machine off.
	PowerOffLine = "initrd: powering off"
)

// ExitStatusRE matches the exit status line; its first group is the status.
var ExitStatusRE = regexp.MustCompile(`^` + regexp.QuoteMeta(ExitStatusPrefix) + `([0-9]+)$`)

// Defaults for Spec fields left empty.
const (
	DefaultBusybox    = "/bin/busybox"
	DefaultModulesDir = "/lib/modules"
)

// Layout inside the image.
const (
	initPath    = "init"
	busyboxPath = "bin/busybox"
	modulesRoot = "lib/modules"
)

// Character device numbers of /dev/console (Linux devices.txt: 5, 1).
const (
	consoleMajor = 5
	consoleMinor = 1
)
