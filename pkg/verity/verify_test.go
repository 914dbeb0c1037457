package verity

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

type image struct {
	data, hash []byte
	root       []byte
	tree       *Tree
}

func makeImage(t *testing.T, blocks int, salt []byte) *image {
	t.Helper()
	data := make([]byte, blocks*4096)
	r := rand.New(rand.NewPCG(uint64(blocks), 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	tree, err := Compute(context.Background(), bytes.NewReader(data), Params{Salt: salt})
	if err != nil {
		t.Fatal(err)
	}
	var h bytes.Buffer
	if _, err := tree.WriteTo(&h); err != nil {
		t.Fatal(err)
	}
	return &image{data: data, hash: h.Bytes(), root: tree.RootHash(), tree: tree}
}

func (im *image) verify(root []byte) (*Superblock, error) {
	return Verify(context.Background(), bytes.NewReader(im.data), bytes.NewReader(im.hash), root, VerifyOptions{})
}

func TestVerifyGood(t *testing.T) {
	for _, blocks := range []int{1, 2, 128, 129, 16385} {
		im := makeImage(t, blocks, []byte("salt"))
		sb, err := im.verify(im.root)
		if err != nil {
			t.Fatalf("%d blocks: %v", blocks, err)
		}
		if sb.DataBlocks != uint64(blocks) {
			t.Errorf("%d blocks: superblock says %d", blocks, sb.DataBlocks)
		}
		if _, _, err := CheckRoot(bytes.NewReader(im.data), bytes.NewReader(im.hash), im.root, VerifyOptions{}); err != nil {
			t.Errorf("%d blocks: CheckRoot: %v", blocks, err)
		}
	}
}

func TestVerifyBadDataBlocks(t *testing.T) {
	im := makeImage(t, 16385, []byte("salt"))
	for _, b := range []int{0, 127, 128, 16384} {
		im.data[b*4096+100] ^= 1
	}
	_, err := im.verify(im.root)
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want a CorruptionError", err)
	}
	if ce.BadData != 4 || len(ce.DataBlocks) != 4 || ce.DataBlocks[3] != 16384 || ce.BadHash != 0 {
		t.Errorf("got %+v", ce)
	}
	if !strings.Contains(err.Error(), "16384 (offset 67108864)") {
		t.Errorf("message does not name the block and offset: %v", err)
	}
	// CheckRoot only looks at the top of the tree, so it passes: the
	// kernel catches bad data blocks when they are read.
	if _, _, err := CheckRoot(bytes.NewReader(im.data), bytes.NewReader(im.hash), im.root, VerifyOptions{}); err != nil {
		t.Errorf("CheckRoot: %v", err)
	}
}

func TestVerifyManyBadBlocksCapped(t *testing.T) {
	im := makeImage(t, 300, nil)
	for b := 0; b < 200; b++ {
		im.data[b*4096] ^= 0xff
	}
	_, err := im.verify(im.root)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.BadData != 200 || len(ce.DataBlocks) != MaxReported {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "and 136 more") {
		t.Errorf("message: %v", err)
	}
}

func TestVerifyBadHashBlock(t *testing.T) {
	im := makeImage(t, 16385, []byte("salt"))
	lvl0 := im.tree.Geometry.Levels[0]
	im.hash[(lvl0.Start+5)*4096+7] ^= 1
	_, err := im.verify(im.root)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.BadHash != 1 || ce.HashBlocks[0] != (HashBlock{0, 5, lvl0.Start + 5}) || ce.BadData != 0 {
		t.Fatalf("got %v", err)
	}
}

func TestVerifyWrongRoot(t *testing.T) {
	for _, blocks := range []int{1, 129} {
		im := makeImage(t, blocks, []byte("salt"))
		wrong := bytes.Clone(im.root)
		wrong[0] ^= 1
		if _, err := im.verify(wrong); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("%d blocks: got %v, want ErrRootMismatch", blocks, err)
		}
		if _, _, err := CheckRoot(bytes.NewReader(im.data), bytes.NewReader(im.hash), wrong, VerifyOptions{}); !errors.Is(err, ErrRootMismatch) {
			t.Errorf("%d blocks: CheckRoot got %v, want ErrRootMismatch", blocks, err)
		}
	}
}

// A tree formatted with another salt is self-consistent but does not hash
// to the trusted root.
func TestVerifyWrongSalt(t *testing.T) {
	good := makeImage(t, 129, []byte("salt-a"))
	other := makeImage(t, 129, []byte("salt-b"))
	im := &image{data: good.data, hash: other.hash}
	if _, err := im.verify(good.root); !errors.Is(err, ErrRootMismatch) {
		t.Errorf("got %v, want ErrRootMismatch", err)
	}
}

// The data is right but the hash device is from elsewhere: dm-verity would
// fail every read, so this is corruption, not a pass.
func TestVerifyHashDeviceCorruptButDataGood(t *testing.T) {
	im := makeImage(t, 129, []byte("salt"))
	top := im.tree.Geometry.Levels[1]
	im.hash[top.Start*4096+4000] ^= 1 // in the zero padding of the top block
	_, err := im.verify(im.root)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "hash device is corrupt") {
		t.Errorf("got %v", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	im := makeImage(t, 16385, []byte("salt"))
	tests := []struct {
		name       string
		data, hash []byte
		root       []byte
		want       error
	}{
		{"root too short", im.data, im.hash, im.root[:31], ErrRootHashLength},
		{"root too long", im.data, im.hash, append(bytes.Clone(im.root), 0), ErrRootHashLength},
		{"truncated tree", im.data, im.hash[:len(im.hash)-1], im.root, ErrTruncated},
		{"superblock only", im.data, im.hash[:512], im.root, ErrTruncated},
		{"empty hash device", im.data, nil, im.root, ErrTruncated},
		{"no superblock", im.data, make([]byte, len(im.hash)), im.root, ErrSuperblock},
		{"short data", im.data[:len(im.data)-4096], im.hash, im.root, ErrDataTooSmall},
	}
	for _, tt := range tests {
		_, err := Verify(context.Background(), bytes.NewReader(tt.data), bytes.NewReader(tt.hash), tt.root, VerifyOptions{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify got %v, want %v", tt.name, err, tt.want)
		}
		_, _, err = CheckRoot(bytes.NewReader(tt.data), bytes.NewReader(tt.hash), tt.root, VerifyOptions{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: CheckRoot got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// A superblock claiming a huge image must not make Verify allocate for it.
func TestVerifyHugeClaim(t *testing.T) {
	sb := validSuperblock()
	sb.DataBlocks = 1 << 40
	b, _ := sb.MarshalBinary()
	_, err := Verify(context.Background(), bytes.NewReader(make([]byte, 4096)), bytes.NewReader(b), make([]byte, 32), VerifyOptions{})
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("got %v, want ErrTruncated", err)
	}
}

func TestVerifyCancelled(t *testing.T) {
	im := makeImage(t, 1000, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Verify(ctx, bytes.NewReader(im.data), bytes.NewReader(im.hash), im.root, VerifyOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}
