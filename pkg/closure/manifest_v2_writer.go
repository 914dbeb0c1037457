package closure

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// V2Block is one store path of a version 2 manifest, encoded and checked
// by EncodeV2Block, ready for WriteManifestV2.
type V2Block struct {
	Path      string
	NarSize   uint64
	Entries   uint64
	FileBytes uint64
	data      string
}

// EncodeV2Block validates a store path and its entries as a reader would
// (NAR order, names, the entries adding up to the NAR size) and encodes
// them.
func EncodeV2Block(storeDir string, pn *PathNodes) (V2Block, error) {
	if err := validateEntry(storeDir, pn.Entry); err != nil {
		return V2Block{}, err
	}
	if len(pn.Nodes) == 0 {
		return V2Block{}, fmt.Errorf("%s has no entries", pn.Path)
	}
	blk := V2Block{Path: pn.Path, NarSize: pn.NarSize, Entries: uint64(len(pn.Nodes))}
	var b strings.Builder
	fmt.Fprintf(&b, "path %s %s %d %d\n", pn.Path, nixHash(pn.NarHash), pn.NarSize, len(pn.Nodes))
	var order nodeOrder
	for i := range pn.Nodes {
		n := &pn.Nodes[i]
		if err := order.add(n); err != nil {
			return V2Block{}, fmt.Errorf("%s: %w", pn.Path, err)
		}
		switch n.Type {
		case NodeDirectory:
			b.WriteString("d ")
		case NodeRegular:
			if n.Size > maxFileSize {
				return V2Block{}, fmt.Errorf("%s: file too large", NodeFullPath(pn.Path, n.Path))
			}
			blk.FileBytes += n.Size
			kind := "r "
			if n.Executable {
				kind = "x "
			}
			b.WriteString(kind + strconv.FormatUint(n.Size, 10) + " " + hex.EncodeToString(n.SHA256[:]) + " " + hex.EncodeToString(n.Verity[:]) + " ")
		case NodeSymlink:
			b.WriteString("l ")
		}
		escapeField(&b, n.Path)
		if n.Type == NodeSymlink {
			b.WriteByte(' ')
			escapeField(&b, n.Target)
		}
		b.WriteByte('\n')
	}
	if order.size != pn.NarSize {
		return V2Block{}, fmt.Errorf("%s: its entries make a NAR of %d bytes, not %d", pn.Path, order.size, pn.NarSize)
	}
	blk.data = b.String()
	return blk, nil
}

// WriteManifestV2 writes a version 2 manifest of blocks, which must be
// sorted by store path without duplicates (as in a Manifest's entries).
// Equal blocks give equal bytes.
func WriteManifestV2(w io.Writer, storeDir string, blocks []V2Block) error {
	if err := ValidateStoreDir(storeDir); err != nil {
		return err
	}
	if len(blocks) == 0 {
		return fmt.Errorf("the closure has no store paths")
	}
	var narBytes, entries, fileBytes uint64
	for i, blk := range blocks {
		if i > 0 && blocks[i-1].Path >= blk.Path {
			return fmt.Errorf("%s is out of order or listed twice", blk.Path)
		}
		n, err := addNarBytes(narBytes, Entry{Path: blk.Path, NarSize: blk.NarSize})
		if err != nil {
			return err
		}
		narBytes, entries = n, entries+blk.Entries
		if fileBytes+blk.FileBytes < fileBytes {
			return fmt.Errorf("the file sizes add up to more than 64 bits")
		}
		fileBytes += blk.FileBytes
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	fmt.Fprintf(bw, "%s %d\nstore-dir %s\npaths %d\nnar-bytes %d\nentries %d\nfile-bytes %d\n",
		ManifestMagic, ManifestVersion2, storeDir, len(blocks), narBytes, entries, fileBytes)
	for _, blk := range blocks {
		bw.WriteString(blk.data)
	}
	bw.WriteString("end\n")
	return bw.Flush()
}
