package closure

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
	"golang.org/x/sys/unix"
)

// MetadataChecks selects the checks beyond NAR. Nix canonicalises every store
// entry: files 0444 or 0555, directories 0555, no special bits, mtime 1,
// owned by root (or by the single user of a single-user store), no extended
// attributes. The zero value checks all of that (fail closed); a store that
// is legitimately different (for example one copied without preserving
// times) can skip single checks.
type MetadataChecks struct {
	SkipMode        bool
	SkipSpecialBits bool
	SkipMtime       bool
	SkipOwner       bool
	SkipXattrs      bool
	// Owner is the owner every entry must have; the zero value is root:root.
	Owner Owner
	// AllowXattrs names the extended attributes an entry may carry; nil
	// means DefaultAllowedXattrs, an empty non-nil list allows none.
	AllowXattrs []string
}

// AllMetadataChecks is the default, used at boot: everything Nix guarantees
// of a multi-user store (owner root:root, SELinux labels allowed).
var AllMetadataChecks = MetadataChecks{}

// nixMtime is the modification time Nix gives every store entry.
const nixMtime = 1

// problems returns what differs from a canonical store entry, using xattrBuf
// as scratch space. Entry types NAR cannot hold are reported by the NAR
// serialiser, not here.
func (c MetadataChecks) problems(e entryMeta, xattrBuf *[]byte) []Problem {
	var out []Problem
	mode := e.Mode
	st := e.St
	isLink := mode&fs.ModeSymlink != 0
	if !c.SkipSpecialBits && mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		out = append(out, Problem{Kind: KindSpecialBits, Actual: specialBits(mode)})
	}
	if !c.SkipMode && !isLink {
		perm := mode.Perm()
		switch {
		case mode.IsDir() && perm != 0o555:
			out = append(out, Problem{Kind: KindMode, Expected: "0555", Actual: fmt.Sprintf("%04o", perm)})
		case mode.IsRegular() && perm != 0o444 && perm != 0o555:
			out = append(out, Problem{Kind: KindMode, Expected: "0444 or 0555", Actual: fmt.Sprintf("%04o", perm)})
		}
	}
	if !c.SkipMtime && st.Mtim.Sec != nixMtime {
		out = append(out, Problem{Kind: KindMtime, Expected: "1", Actual: fmt.Sprint(st.Mtim.Sec)})
	}
	if got := (Owner{UID: st.Uid, GID: st.Gid}); !c.SkipOwner && got != c.Owner {
		out = append(out, Problem{Kind: KindOwner, Expected: c.Owner.String(), Actual: got.String()})
	}
	if !c.SkipXattrs {
		out = append(out, c.xattrProblems(e, xattrBuf)...)
	}
	return out
}

func (c MetadataChecks) xattrProblems(e entryMeta, buf *[]byte) []Problem {
	names, err := listXattrs(e, buf)
	if err != nil {
		return []Problem{{Kind: KindUnreadable, Detail: err.Error()}}
	}
	allowed := c.AllowXattrs
	if allowed == nil {
		allowed = DefaultAllowedXattrs
	}
	var extra []string
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			extra = append(extra, n)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	expected := "none"
	if len(allowed) > 0 {
		expected = "only " + strings.Join(allowed, ",")
	}
	return []Problem{{Kind: KindXattr, Expected: expected, Actual: strings.Join(extra, ",")}}
}

// entryMeta is what the metadata checks need of an entry, from the NAR
// walk (metaOf) or from the per-file walk of a version 2 check.
type entryMeta struct {
	Path  string      // full path, for messages
	Mode  fs.FileMode // from St
	St    *unix.Stat_t
	DirFD int    // the directory holding the entry
	Name  string // its name there
	FD    int    // the entry opened, or -1 (symlinks)
}

func metaOf(e *nar.Entry) entryMeta {
	return entryMeta{Path: e.Path, Mode: e.Info.Mode(), St: e.Stat(), DirFD: e.DirFD, Name: e.Name, FD: e.FD}
}

func specialBits(m fs.FileMode) string {
	s := ""
	for _, b := range []struct {
		bit  fs.FileMode
		name string
	}{{fs.ModeSetuid, "setuid"}, {fs.ModeSetgid, "setgid"}, {fs.ModeSticky, "sticky"}} {
		if m&b.bit != 0 {
			if s != "" {
				s += "+"
			}
			s += b.name
		}
	}
	return s
}
