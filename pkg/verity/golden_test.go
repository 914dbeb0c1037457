package verity

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The goldens in testdata/golden were written by veritysetup format
// (testdata/golden/mk.sh is the recipe; TestGoldenRecipe runs it again
// where the peer is installed). These tests need no peer: our trees must
// equal veritysetup's byte for byte.

const (
	goldenSalt = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	goldenUUID = "6f3c2a1e-9b4d-4c5e-8f7a-0123456789ab"
)

var goldens = []struct {
	name      string
	blocks    int
	blockSize uint32
}{
	{"seq129", 129, 4096},
	{"seq300", 300, 512},
}

// seqData is `seq 1 1000000 | head -c size`: the numbers 1, 2, 3 ... one
// per line, cut to size bytes.
func seqData(size int) []byte {
	b := make([]byte, 0, size+16)
	for i := 1; len(b) < size; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '\n')
	}
	return b[:size]
}

func TestGolden(t *testing.T) {
	salt, _ := hex.DecodeString(goldenSalt)
	uuid, err := ParseUUID(goldenUUID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "golden", g.name+".verity"))
			if err != nil {
				t.Fatal(err)
			}
			wantRoot, err := os.ReadFile(filepath.Join("testdata", "golden", g.name+".root"))
			if err != nil {
				t.Fatal(err)
			}
			data := seqData(g.blocks * int(g.blockSize))
			tree, err := Compute(context.Background(), bytes.NewReader(data), Params{
				DataBlockSize: g.blockSize, HashBlockSize: g.blockSize, Salt: salt, UUID: uuid,
			})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := tree.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("hash device differs from veritysetup's: %d bytes, golden %d, first difference at %d",
					got.Len(), len(want), firstDiff(got.Bytes(), want))
			}
			if root := hex.EncodeToString(tree.RootHash()); root != strings.TrimSpace(string(wantRoot)) {
				t.Errorf("root hash %s, veritysetup %s", root, wantRoot)
			}
			// And the golden verifies against its root hash.
			root, err := ParseRootHash(strings.TrimSpace(string(wantRoot)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(context.Background(), bytes.NewReader(data), bytes.NewReader(want), root, VerifyOptions{}); err != nil {
				t.Errorf("Verify against the golden: %v", err)
			}
		})
	}
}
