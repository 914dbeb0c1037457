package closure

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// NewManifest sorts and validates entries into a manifest, as
// ParseManifest validates what it reads, so a manifest it makes can always
// be read back. The same path listed twice with the same hash and size is
// kept once; with different values it is an error, since the inputs
// disagree.
func NewManifest(storeDir string, entries []Entry) (*Manifest, error) {
	if err := ValidateStoreDir(storeDir); err != nil {
		return nil, err
	}
	sorted := append([]Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	out := sorted[:0]
	var total uint64
	for _, e := range sorted {
		if err := validateEntry(storeDir, e); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Path == e.Path {
			if out[n-1] != e {
				return nil, fmt.Errorf("%s is listed twice with different NAR hashes or sizes", e.Path)
			}
			continue
		}
		out = append(out, e)
		var err error
		if total, err = addNarBytes(total, e); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the closure has no store paths")
	}
	return &Manifest{StoreDir: storeDir, Entries: out}, nil
}

// Marshal renders the manifest in the version 1 format. Equal manifests give
// equal bytes. The manifest is expected to come from NewManifest or
// ParseManifest, which validate it.
func (m *Manifest) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", ManifestMagic, ManifestVersion)
	fmt.Fprintf(&b, "store-dir %s\n", m.StoreDir)
	fmt.Fprintf(&b, "paths %d\n", len(m.Entries))
	fmt.Fprintf(&b, "nar-bytes %d\n", m.NarBytes())
	for _, e := range m.Entries {
		fmt.Fprintf(&b, "%s sha256:%s %d\n", e.Path, nixbase32.EncodeToString(e.NarHash[:]), e.NarSize)
	}
	b.WriteString("end\n")
	return b.Bytes()
}
