package initrd

// Spec says what goes into an initrd and what its /init does, in this
// order: print Marker, load Modules, run Run and print its exit status,
// power off.
type Spec struct {
	// Busybox is the host path of a statically linked busybox
	// (DefaultBusybox when empty).
	Busybox string
	// ModulesDir is the modules directory of the kernel that will boot,
	// e.g. /lib/modules/6.1.0-56-amd64; needed only when Modules is set.
	ModulesDir string
	// Modules are loaded in this order, each after its dependencies.
	Modules []string
	// Marker is printed on its own line on the console once /init runs.
	Marker string
	// Run is a program (a path inside the initrd) and its arguments; when
	// set, /init runs it and prints ExitStatusPrefix followed by its status.
	Run []string
	// Files are copied into the image.
	Files []File
}

// File is an extra file for the image: either the contents of a host file
// or bytes in memory.
type File struct {
	Name     string // path inside the image, e.g. "bin/nix-closure-verify"
	HostPath string // read at build time when set
	Data     []byte // used when HostPath is empty
	Perm     uint32 // e.g. 0o755 for a program
}
