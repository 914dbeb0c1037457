package closure

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixhash"
	"github.com/nix-community/go-nix/pkg/storepath"
)

// The manifest format, version 1. Every line ends in "\n"; fields are
// separated by one space; nothing else is allowed:
//
//	nix-closure-manifest 1
//	store-dir /nix/store
//	paths <number of path lines>
//	nar-bytes <sum of the NAR sizes>
//	<store path> sha256:<nix32 NAR hash> <NAR size>     (one per path, sorted byte-wise, no duplicates)
//	end
//
// The counts and the "end" line make a manifest cut at a line boundary
// detectable even when its digest is not checked.
const (
	ManifestMagic   = "nix-closure-manifest"
	ManifestVersion = 1
	DefaultStoreDir = storepath.StoreDir
)

// Entry is one store path of a closure.
type Entry struct {
	Path    string // absolute store path, e.g. /nix/store/<hash>-<name>
	NarHash [sha256.Size]byte
	NarSize uint64
}

// Manifest is a closure's list of entries, sorted by path.
type Manifest struct {
	StoreDir string
	Entries  []Entry
}

// NarBytes is the sum of the entries' NAR sizes. NewManifest and
// ParseManifest refuse manifests where it would overflow.
func (m *Manifest) NarBytes() uint64 {
	var n uint64
	for _, e := range m.Entries {
		n += e.NarSize
	}
	return n
}

// ManifestDigest is the sha256 of a manifest file's bytes, which is what goes
// on a kernel command line.
type ManifestDigest [sha256.Size]byte

// String renders the digest as "sha256:<hex>".
func (d ManifestDigest) String() string { return "sha256:" + hex.EncodeToString(d[:]) }

// DigestOf returns the digest of manifest bytes.
func DigestOf(data []byte) ManifestDigest { return sha256.Sum256(data) }

// digestForms names the forms ParseDigest accepts, for its error message.
const digestForms = "sha256:HEX, sha256:NIX32, sha256:BASE64, sha256-BASE64 (SRI), or bare HEX, NIX32 or BASE64"

// ParseDigest accepts a sha256 digest as "sha256:<hex|nix32|base64>",
// "sha256-<base64>" (SRI) or bare hex, nix32 or base64. Its error names
// every accepted form, on one line.
func ParseDigest(s string) (ManifestDigest, error) {
	var d ManifestDigest
	algo := nixhash.SHA256
	h, err := nixhash.ParseAny(s, &algo)
	if err != nil {
		return d, fmt.Errorf("invalid sha256 digest %q (accepted: %s): %w", s, digestForms, err)
	}
	copy(d[:], h.Digest())
	return d, nil
}

// ParseNarHash parses a narHash in any form Nix writes: "sha256:<nix32>",
// "sha256:<hex>", bare hex (nix-store --dump-db), or SRI "sha256-<base64>".
func ParseNarHash(s string) ([sha256.Size]byte, error) {
	d, err := ParseDigest(s)
	if err != nil {
		return d, fmt.Errorf("invalid NAR hash %q", s)
	}
	return d, nil
}

// ValidateStorePath checks that p is storeDir/<32-char nix32 hash>-<name>
// with a name Nix allows (which excludes "/", a leading "." and so "..").
func ValidateStorePath(storeDir, p string) error {
	if path.Dir(p) != storeDir || !strings.HasPrefix(p, storeDir+"/") {
		return fmt.Errorf("path %q is not directly inside the store directory %s", p, storeDir)
	}
	return validateBaseName(path.Base(p))
}

// minNarSize is the size of the smallest NAR: an empty regular file.
const minNarSize = 96

// validateEntry checks what the manifest's reader and writer both require
// of one entry, so the writer never writes what the reader refuses.
func validateEntry(storeDir string, e Entry) error {
	if err := ValidateStorePath(storeDir, e.Path); err != nil {
		return err
	}
	if e.NarSize < minNarSize {
		return fmt.Errorf("%s: NAR size %d is below the smallest NAR (%d bytes)", e.Path, e.NarSize, minNarSize)
	}
	return nil
}

// addNarBytes adds one entry's NAR size to a manifest's total, refusing a
// total that does not fit the nar-bytes field.
func addNarBytes(total uint64, e Entry) (uint64, error) {
	sum := total + e.NarSize
	if sum < total {
		return 0, fmt.Errorf("%s: the NAR sizes add up to more than %d bytes", e.Path, uint64(math.MaxUint64))
	}
	return sum, nil
}

// maxNameLen is Nix's limit on the name part of a store path.
const maxNameLen = 211

// validateBaseName checks "<hash>-<name>". go-nix checks the alphabet; Nix
// also refuses names that start with "." (so "." and ".." can never be store
// entries) and names over 211 bytes.
func validateBaseName(base string) error {
	if len(base) < hashPartLen+2 || base[hashPartLen] != '-' {
		return fmt.Errorf("invalid store path name %q", base)
	}
	name := base[hashPartLen+1:]
	if name[0] == '.' || len(name) > maxNameLen {
		return fmt.Errorf("invalid store path name %q", base)
	}
	if _, err := storepath.FromString(base); err != nil {
		return fmt.Errorf("invalid store path name %q", base)
	}
	return nil
}

// ValidateStoreDir checks that dir is absolute and clean ("/nix/store").
func ValidateStoreDir(dir string) error {
	if dir == "" || dir[0] != '/' || path.Clean(dir) != dir || dir == "/" || strings.ContainsAny(dir, " \n") {
		return fmt.Errorf("invalid store directory %q (must be an absolute, clean path)", dir)
	}
	return nil
}
