package cpio

import (
	"fmt"
	"strings"
)

// checkName accepts only clean relative paths, so that an archive can never
// make the kernel (or cpio -i) write outside the directory it unpacks into,
// and so that one file has exactly one spelling (which the sort relies on).
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrName)
	}
	if strings.HasPrefix(name, "/") {
		return fmt.Errorf("%w %q: absolute", ErrName, name)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w %q: contains NUL", ErrName, name)
	}
	if name == trailerName {
		return fmt.Errorf("%w %q: reserved for the trailer", ErrName, name)
	}
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".", "..":
			return fmt.Errorf("%w %q: not a clean relative path", ErrName, name)
		}
	}
	return nil
}

// parent returns the directory holding name, or "" at the top level.
func parent(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return ""
}
