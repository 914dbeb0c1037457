package closure

import (
	"fmt"
	"io/fs"
	"syscall"
)

// MetadataChecks selects the checks beyond NAR. Nix canonicalises every store
// entry (files 0444 or 0555, directories 0555, no special bits, mtime 1); a
// store that is legitimately different (for example one copied without
// preserving times) can turn single checks off.
type MetadataChecks struct {
	Mode        bool
	SpecialBits bool
	Mtime       bool
}

// AllMetadataChecks is the default: everything Nix guarantees.
var AllMetadataChecks = MetadataChecks{Mode: true, SpecialBits: true, Mtime: true}

// nixMtime is the modification time Nix gives every store entry.
const nixMtime = 1

// metadataProblems returns what differs from a canonical store entry. Entry
// types NAR cannot hold are reported by the NAR serialiser, not here.
func (c MetadataChecks) problems(info fs.FileInfo) []Problem {
	var out []Problem
	mode := info.Mode()
	isLink := mode&fs.ModeSymlink != 0
	if c.SpecialBits && mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		out = append(out, Problem{Kind: KindSpecialBits, Actual: specialBits(mode)})
	}
	if c.Mode && !isLink {
		perm := mode.Perm()
		switch {
		case mode.IsDir() && perm != 0o555:
			out = append(out, Problem{Kind: KindMode, Expected: "0555", Actual: fmt.Sprintf("%04o", perm)})
		case mode.IsRegular() && perm != 0o444 && perm != 0o555:
			out = append(out, Problem{Kind: KindMode, Expected: "0444 or 0555", Actual: fmt.Sprintf("%04o", perm)})
		}
	}
	if c.Mtime {
		if sec := mtimeSeconds(info); sec != nixMtime {
			out = append(out, Problem{Kind: KindMtime, Expected: "1", Actual: fmt.Sprint(sec)})
		}
	}
	return out
}

func mtimeSeconds(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Mtim.Sec
	}
	return info.ModTime().Unix()
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
