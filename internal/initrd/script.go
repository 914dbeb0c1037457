package initrd

import (
	"fmt"
	"path"
	"strings"
)

// initScript renders /init. It runs under busybox sh with applets installed
// as symlinks at start, so the script depends on nothing else in the image.
// Every step reports on the console; the script always ends in a forced
// power-off so that a VM exits instead of panicking on init's death.
func initScript(s Spec, mods []Module, modDir string) string {
	var b strings.Builder
	b.WriteString("#!/bin/busybox sh\n")
	b.WriteString("/bin/busybox --install -s /bin\n")
	b.WriteString("export PATH=/bin\n")
	b.WriteString("mount -t devtmpfs devtmpfs /dev 2>/dev/null\n")
	b.WriteString("mount -t proc proc /proc\n")
	b.WriteString("mount -t sysfs sysfs /sys\n")
	if s.Marker != "" {
		fmt.Fprintf(&b, "echo %s\n", shellQuote(s.Marker))
	}
	for _, m := range mods {
		fmt.Fprintf(&b, "insmod %s || echo %s\n",
			shellQuote("/"+path.Join(modDir, m.Path)), shellQuote(ModuleFailedPrefix+m.Name))
	}
	if len(s.Run) > 0 {
		q := make([]string, len(s.Run))
		for i, a := range s.Run {
			q[i] = shellQuote(a)
		}
		fmt.Fprintf(&b, "%s\n", strings.Join(q, " "))
		fmt.Fprintf(&b, "echo \"%s$?\"\n", ExitStatusPrefix)
	}
	fmt.Fprintf(&b, "echo %s\n", shellQuote(PowerOffLine))
	b.WriteString("sync\n")
	b.WriteString("poweroff -f\n")
	return b.String()
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
