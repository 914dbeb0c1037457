package fsverity

import (
	"bytes"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// Sizes around every boundary of the tree: empty, one byte, one block and
// its neighbours, 128 blocks (one full level-0 tree block) and its
// neighbours, and beyond 16384 blocks (a third level).
var peerSizes = []int64{
	0, 1, 4095, 4096, 4097, 8192,
	128 * BlockSize, 128*BlockSize + 1, 129 * BlockSize,
	128*128*BlockSize - 1, 128 * 128 * BlockSize, 128*128*BlockSize + 1, (128*128 + 3) * BlockSize,
}

// The peer is fsverity-utils' `fsverity digest` (Debian's fsverity
// package), which computes the same digest in user space.
func TestDigestEqualsFsverityDigest(t *testing.T) {
	tool := peer.Tool(t, "fsverity")
	dir := t.TempDir()
	for _, size := range peerSizes {
		p := filepath.Join(dir, "f")
		data := pseudoRandom(size)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, n, err := Digest(bytes.NewReader(data))
		if err != nil || n != size {
			t.Fatalf("size %d: n %d, err %v", size, n, err)
		}
		if want := peerDigest(t, tool, p); hex.EncodeToString(got[:]) != want {
			t.Errorf("size %d: ours %x, fsverity digest %s", size, got, want)
		}
	}
}

// Real files: the store files of the Nix fixture and a few system binaries.
func TestDigestOfRealFiles(t *testing.T) {
	tool := peer.Tool(t, "fsverity")
	fx := nixtest.Build(t)
	var files []string
	for _, p := range fx.Closure {
		filepath.WalkDir(p, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	for _, p := range []string{"/bin/sh", "/usr/bin/env", "/usr/bin/fsverity"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			files = append(files, r)
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d real files", len(files))
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Digest(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := peerDigest(t, tool, p); hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: ours %x, fsverity digest %s", p, got, want)
		}
	}
}

// However the data is cut into writes, the digest is the same, and Sum
// does not disturb further writes.
func TestWriteSplitsAndSumMidway(t *testing.T) {
	data := pseudoRandom(129*BlockSize + 77)
	want, _, err := Digest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 7, 4095, 4096, 4097, 65536, len(data)} {
		var h Hasher
		for off := 0; off < len(data); off += chunk {
			if off == len(data)/2 {
				h.Sum()
			}
			h.Write(data[off:min(off+chunk, len(data))])
			if off == 3*chunk {
				h.Sum() // mid-stream Sum must not change the result
			}
		}
		got, err := h.Sum()
		if err != nil || got != want {
			t.Errorf("chunks of %d: %x, want %x (err %v)", chunk, got, want, err)
		}
		h.Reset()
		h.Write(data)
		if got, _ := h.Sum(); got != want {
			t.Errorf("after Reset: %x", got)
		}
	}
}

// Pinned from `fsverity digest` (fsverity-utils 1.5), so the layout is
// checked where the tool is not installed.
func TestPinnedDigests(t *testing.T) {
	for _, c := range []struct {
		data string
		want string
	}{
		{"", "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95"},
		{"hello\n", "9c76eecc7b76fcb46199cb27b90cf59a660e10575bb0412128905129d5b1c2aa"},
	} {
		got, _, err := Digest(strings.NewReader(c.data))
		if err != nil || hex.EncodeToString(got[:]) != c.want {
			t.Errorf("%q: %x (err %v), want %s", c.data, got, err, c.want)
		}
	}
}

func TestReadError(t *testing.T) {
	if _, _, err := Digest(io.MultiReader(strings.NewReader("x"), errReader{})); err == nil {
		t.Fatal("read error not returned")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrClosed }

func peerDigest(t *testing.T, tool, p string) string {
	t.Helper()
	out, err := exec.Command(tool, "digest", "--hash-alg=sha256", "--block-size=4096", p).Output()
	if err != nil {
		t.Fatalf("fsverity digest %s: %v", p, err)
	}
	f := strings.Fields(string(out))
	hexDigest, ok := strings.CutPrefix(f[0], "sha256:")
	if !ok {
		t.Fatalf("fsverity digest printed %q", out)
	}
	return hexDigest
}

func pseudoRandom(n int64) []byte {
	r := rand.NewChaCha8([32]byte{'f', 's', 'v'})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func BenchmarkHasher(b *testing.B) {
	data := pseudoRandom(4 << 20)
	b.SetBytes(int64(len(data)))
	var h Hasher
	for i := 0; i < b.N; i++ {
		h.Reset()
		h.Write(data)
		h.Sum()
	}
}
