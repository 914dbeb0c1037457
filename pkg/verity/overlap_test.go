package verity

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// appendedDevice lays data and its tree out on one device, as veritysetup
// format --hash-offset does: data, then the superblock at len(data), then
// the tree. The tree covers cover blocks from the start of the device; with
// cover one more than the data's blocks it covers its own superblock block,
// a layout every hash of which is right but whose hash area overlaps the
// data (issue 8, 1b).
func appendedDevice(t *testing.T, data []byte, cover uint64) (dev, root []byte) {
	t.Helper()
	p := Params{Salt: []byte{0x5a}, UUID: [16]byte{1}, DataBlocks: cover}
	// The superblock block depends only on the parameters.
	probe, err := Compute(context.Background(), bytes.NewReader(make([]byte, cover*4096)), p)
	if err != nil {
		t.Fatal(err)
	}
	var sb bytes.Buffer
	if _, err := probe.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	head := sb.Bytes()[:probe.Geometry.HashStart*4096]
	covered := append(append([]byte(nil), data...), head...)
	tree, err := Compute(context.Background(), bytes.NewReader(covered), p)
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	if _, err := tree.WriteTo(&h); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(h.Bytes(), head) {
		t.Fatal("superblock block changed between the two computations")
	}
	return append(append([]byte(nil), data...), h.Bytes()...), tree.RootHash()
}

func TestOverlapRefused(t *testing.T) {
	const blocks = 300
	data := makeImage(t, blocks, nil).data
	tests := []struct {
		name  string
		cover uint64
		same  bool
		want  error
	}{
		{name: "tree after the data", cover: blocks, same: true},
		{name: "data covers the superblock", cover: blocks + 1, same: true, want: ErrOverlap},
		// On two devices the same bytes are no overlap: the rule is about
		// one device.
		{name: "two devices", cover: blocks + 1, same: false},
	}
	for _, tt := range tests {
		dev, root := appendedDevice(t, data, tt.cover)
		opt := VerifyOptions{HashOffset: blocks * 4096, SameDevice: tt.same}
		r := bytes.NewReader(dev)
		if _, _, err := CheckRoot(r, r, root, opt); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: CheckRoot: %v, want %v", tt.name, err, tt.want)
		}
		if _, err := Verify(context.Background(), r, r, root, opt); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: Verify: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCheckOverlap(t *testing.T) {
	tests := []struct {
		name       string
		dbs        uint32
		blocks     uint64
		superblock bool
		offset     uint64
		want       error
	}{
		{name: "superblock right after the data", dbs: 4096, blocks: 300, superblock: true, offset: 300 * 4096},
		{name: "superblock later", dbs: 4096, blocks: 300, superblock: true, offset: 400 * 4096},
		{name: "superblock in the last data block", dbs: 4096, blocks: 300, superblock: true, offset: 299*4096 + 3584, want: ErrOverlap},
		{name: "superblock at the start", dbs: 4096, blocks: 300, superblock: true, offset: 0, want: ErrOverlap},
		{name: "no superblock, tree after the data", dbs: 4096, blocks: 300, offset: 300 * 4096},
		{name: "no superblock, tree inside", dbs: 4096, blocks: 300, offset: 299 * 4096, want: ErrOverlap},
		{name: "512-byte data blocks", dbs: 512, blocks: 9, superblock: true, offset: 4608},
		{name: "512-byte data blocks, one too many", dbs: 512, blocks: 10, superblock: true, offset: 4608, want: ErrOverlap},
	}
	for _, tt := range tests {
		g, err := NewGeometry(tt.dbs, 4096, tt.blocks, tt.superblock, tt.offset)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := g.CheckOverlap(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
