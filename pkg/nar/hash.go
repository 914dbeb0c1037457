package nar

import (
	"crypto/sha256"
	"hash"
)

// Digest is a NAR's sha256 and length: Nix's narHash and narSize.
type Digest struct {
	Hash [sha256.Size]byte
	Size uint64
}

// Hash returns the NAR hash and size of the tree at path.
func Hash(path string) (Digest, error) {
	return (&Dumper{}).Hash(path)
}

// Hash returns the NAR hash and size of the tree at path.
func (d *Dumper) Hash(path string) (Digest, error) {
	h := &countingHash{h: sha256.New()}
	if err := d.Dump(h, path); err != nil {
		return Digest{}, err
	}
	var out Digest
	h.h.Sum(out.Hash[:0])
	out.Size = h.n
	return out, nil
}

type countingHash struct {
	h hash.Hash
	n uint64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += uint64(len(p))
	return c.h.Write(p)
}
