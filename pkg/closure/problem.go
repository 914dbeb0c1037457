package closure

import "fmt"

// Kind classifies a difference between a store and its manifest.
type Kind string

// The kinds of difference Check reports.
const (
	KindMissing     Kind = "missing"      // the store path does not exist
	KindHash        Kind = "content-hash" // NAR sha256 differs
	KindSize        Kind = "nar-size"     // NAR size differs
	KindMode        Kind = "mode"         // permissions other than 0444/0555 (files) or 0555 (directories)
	KindSpecialBits Kind = "special-bits" // setuid, setgid or sticky
	KindMtime       Kind = "mtime"        // modification time other than 1
	KindOwner       Kind = "owner"        // uid:gid other than the store's owner (root:root)
	KindXattr       Kind = "xattr"        // extended attributes not allowed (security.capability, ACLs ...)
	KindEntryType   Kind = "entry-type"   // device, fifo or socket: not a NAR entry
	KindUnreadable  Kind = "unreadable"   // could not be read, so could not be verified

	// Version 2 manifests name the entry inside the store path.
	KindExtra      Kind = "extra-entry"    // an entry the manifest does not list
	KindType       Kind = "type"           // a directory, file or symlink where the manifest has another of these
	KindExecutable Kind = "executable"     // the executable bit differs
	KindFileSize   Kind = "size"           // a regular file's size differs
	KindTarget     Kind = "symlink-target" // a symlink points elsewhere
	KindVerity     Kind = "fs-verity"      // the file's fs-verity digest differs or cannot be measured
)

// Problem is one difference found by Check.
type Problem struct {
	StorePath string `json:"storePath"` // the manifest entry
	Path      string `json:"path"`      // the entry concerned, as seen without the root prefix
	Kind      Kind   `json:"kind"`      //
	Expected  string `json:"expected,omitempty"`
	Actual    string `json:"actual,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s: %s", p.Path, p.Kind)
	if p.Expected != "" || p.Actual != "" {
		s += fmt.Sprintf(": expected %s, found %s", p.Expected, p.Actual)
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}
