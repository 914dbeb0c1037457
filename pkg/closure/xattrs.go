package closure

import (
	"bytes"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// DefaultAllowedXattrs are the extended attributes a store entry may carry
// when MetadataChecks.AllowXattrs is nil. Nix leaves none, but a system with
// SELinux labels its files; any other attribute can change what a file
// does or who may change it (security.capability grants capabilities as
// setuid grants root, system.posix_acl_access grants write access).
var DefaultAllowedXattrs = []string{"security.selinux"}

// xattrListMax is the kernel's bound on a listxattr result (XATTR_LIST_MAX).
const xattrListMax = 64 << 10

// listXattrs returns the names of e's extended attributes, using buf as
// scratch space. Opened entries are asked through their descriptor; a
// symlink, which cannot be opened, through /proc/self/fd/<dir>/<name>,
// which resolves from the directory already open and follows nothing after
// it. A filesystem without extended attributes has none.
func listXattrs(e entryMeta, buf *[]byte) ([]string, error) {
	list := func(dest []byte) (int, error) {
		if e.FD >= 0 {
			return unix.Flistxattr(e.FD, dest)
		}
		p := e.Name
		if e.DirFD != unix.AT_FDCWD {
			p = "/proc/self/fd/" + strconv.Itoa(e.DirFD) + "/" + e.Name
		}
		return unix.Llistxattr(p, dest)
	}
	if len(*buf) == 0 {
		*buf = make([]byte, 1024)
	}
	for {
		n, err := list(*buf)
		switch err {
		case nil:
			return splitNames((*buf)[:n]), nil
		case unix.EINTR:
			continue
		case unix.ENOTSUP:
			return nil, nil
		case unix.ERANGE:
			// The list grew past buf: ask its size, bounded as the
			// kernel bounds it.
			size, err := list(nil)
			if err != nil && err != unix.EINTR {
				return nil, fmt.Errorf("listxattr %s: %w", e.Path, err)
			}
			if size > xattrListMax {
				return nil, fmt.Errorf("listxattr %s: %d bytes of attribute names", e.Path, size)
			}
			*buf = make([]byte, max(size, 2*len(*buf)))
			continue
		}
		if e.FD < 0 && e.DirFD != unix.AT_FDCWD && unix.Access("/proc/self/fd", unix.F_OK) != nil {
			return nil, fmt.Errorf("listxattr %s: %w (a symlink's attributes are read through /proc, which is not mounted)", e.Path, err)
		}
		return nil, fmt.Errorf("listxattr %s: %w", e.Path, err)
	}
}

func splitNames(b []byte) []string {
	var names []string
	for _, n := range bytes.Split(b, []byte{0}) {
		if len(n) > 0 {
			names = append(names, string(n))
		}
	}
	return names
}
