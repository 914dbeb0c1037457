package verity

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// The oracle for every layout here is cryptsetup's veritysetup (Debian
// package cryptsetup-bin): the hash device we write must be byte-identical
// to the one `veritysetup format` writes with the same salt and UUID, and the
// root hashes must be equal.

const testUUID = "6f3c2a1e-9b4d-4c5e-8f7a-0123456789ab"

var rootHashLine = regexp.MustCompile(`(?m)^Root hash:\s+([0-9a-f]+)$`)

// veritysetupFormat runs the peer and returns its root hash.
func veritysetupFormat(t *testing.T, data, hashFile string, args ...string) []byte {
	t.Helper()
	vs := peer.Tool(t, "veritysetup")
	cmd := exec.Command(vs, append(append([]string{"format"}, args...), data, hashFile)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("veritysetup format: %v\n%s", err, out)
	}
	m := rootHashLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no root hash in veritysetup output:\n%s", out)
	}
	root, err := hex.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// writeImage makes a data file of size bytes from a seeded generator, so a
// failure can be reproduced.
func writeImage(t *testing.T, path string, size int64, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		for i := 0; i < int(n); i += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && i+j < int(n); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
}

func openSized(t *testing.T, path string) *io.SectionReader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return io.NewSectionReader(f, 0, st.Size())
}

func mustUUID(t *testing.T, s string) [16]byte {
	t.Helper()
	b, err := hex.DecodeString(regexp.MustCompile("-").ReplaceAllString(s, ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad uuid %q", s)
	}
	return [16]byte(b)
}

// compareWithVeritysetup formats data with both tools and compares bytes.
func compareWithVeritysetup(t *testing.T, data string, p Params, peerArgs ...string) *Tree {
	t.Helper()
	dir := t.TempDir()
	peerHash := filepath.Join(dir, "peer.verity")
	peerRoot := veritysetupFormat(t, data, peerHash, peerArgs...)

	tree, err := Compute(context.Background(), openSized(t, data), p)
	if err != nil {
		t.Fatal(err)
	}
	var ours bytes.Buffer
	n, err := tree.WriteTo(&ours)
	if err != nil {
		t.Fatal(err)
	}
	if n != tree.Geometry.HashDeviceSize() || int64(ours.Len()) != n {
		t.Errorf("wrote %d bytes (buffer %d), geometry says %d", n, ours.Len(), tree.Geometry.HashDeviceSize())
	}
	peer, err := os.ReadFile(peerHash)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours.Bytes(), peer) {
		t.Errorf("hash device differs from veritysetup's: ours %d bytes, veritysetup %d bytes, first difference at %d",
			ours.Len(), len(peer), firstDiff(ours.Bytes(), peer))
	}
	if got := tree.RootHash(); !bytes.Equal(got, peerRoot) {
		t.Errorf("root hash %x, veritysetup %x", got, peerRoot)
	}
	return tree
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestFormatMatchesVeritysetup(t *testing.T) {
	salt, _ := hex.DecodeString("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	tests := []struct {
		name     string
		size     int64
		dbs, hbs uint32
		salt     []byte
		noSB     bool
	}{
		{name: "1 block", size: 4096, salt: salt},
		{name: "128 blocks", size: 128 * 4096, salt: salt},
		{name: "129 blocks", size: 129 * 4096, salt: salt},
		{name: "16385 blocks", size: 16385 * 4096, salt: salt},
		{name: "16384 blocks", size: 16384 * 4096, salt: salt},
		{name: "partial last block", size: 3*4096 + 1000, salt: salt},
		{name: "no salt", size: 300 * 4096},
		{name: "short salt", size: 200 * 4096, salt: []byte{0xab}},
		{name: "max salt", size: 200 * 4096, salt: bytes.Repeat([]byte{0x5a}, MaxSaltSize)},
		{name: "512-byte blocks", size: 1000 * 512, dbs: 512, hbs: 512, salt: salt},
		{name: "1024 data 4096 hash", size: 700 * 1024, dbs: 1024, hbs: 4096, salt: salt},
		{name: "no superblock", size: 129 * 4096, salt: salt, noSB: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			writeImage(t, data, tt.size, uint64(i))
			p := Params{DataBlockSize: tt.dbs, HashBlockSize: tt.hbs, Salt: tt.salt,
				UUID: mustUUID(t, testUUID), NoSuperblock: tt.noSB}
			args := []string{"--uuid", testUUID, "--salt", "-"}
			if len(tt.salt) > 0 {
				args[3] = hex.EncodeToString(tt.salt)
			}
			if tt.dbs != 0 {
				args = append(args, fmt.Sprintf("--data-block-size=%d", tt.dbs), fmt.Sprintf("--hash-block-size=%d", tt.hbs))
			}
			if tt.noSB {
				args = append(args, "--no-superblock")
			}
			compareWithVeritysetup(t, data, p, args...)
		})
	}
}

// A store image as NixOS builds them: a squashfs from mksquashfs.
func TestFormatSquashfsMatchesVeritysetup(t *testing.T) {
	mksquashfs := peer.Tool(t, "mksquashfs")
	dir := t.TempDir()
	src := filepath.Join(dir, "store")
	for i := range 50 {
		d := filepath.Join(src, fmt.Sprintf("%032d-pkg-%d", i, i), "bin")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeImage(t, filepath.Join(d, "prog"), int64(1000+i*7919), uint64(100+i))
	}
	img := filepath.Join(dir, "store.squashfs")
	out, err := exec.Command(mksquashfs, src, img, "-noappend", "-quiet", "-comp", "gzip",
		"-all-root", "-mkfs-time", "1", "-all-time", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	salt := bytes.Repeat([]byte{0x11}, 32)
	tree := compareWithVeritysetup(t, img, Params{Salt: salt, UUID: mustUUID(t, testUUID)},
		"--uuid", testUUID, "--salt", hex.EncodeToString(salt))
	t.Logf("squashfs: %d data blocks, root %x", tree.Geometry.DataBlocks, tree.RootHash())
}

// One image of at least 1 GiB (issue 5, criterion 3). The file is sparse
// with random blocks scattered through it, so it costs little disk and
// still exercises every level.
func TestFormatOneGiBMatchesVeritysetup(t *testing.T) {
	peer.Tool(t, "veritysetup")
	data := filepath.Join(t.TempDir(), "big")
	const size = 1<<30 + 5*4096 // 1 GiB and a few blocks: a partial top level
	f, err := os.Create(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	blk := make([]byte, 4096)
	for range 2000 {
		for i := range blk {
			blk[i] = byte(r.Uint32())
		}
		if _, err := f.WriteAt(blk, r.Int64N(size/4096)*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	salt := bytes.Repeat([]byte{0xc3}, 32)
	tree := compareWithVeritysetup(t, data, Params{Salt: salt, UUID: mustUUID(t, testUUID)},
		"--uuid", testUUID, "--salt", hex.EncodeToString(salt))
	if tree.Geometry.DataBlocks != size/4096 {
		t.Errorf("data blocks %d", tree.Geometry.DataBlocks)
	}
}

// A tree appended to the data (veritysetup format --hash-offset, data and
// hash device the same file) verifies through HashOffset.
func TestVerifyAppendedTreeFromVeritysetup(t *testing.T) {
	peer.Tool(t, "veritysetup")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const blocks = 300
	writeImage(t, data, blocks*4096, 42)
	salt := "0a0b0c"
	root := veritysetupFormat(t, data, data, "--hash-offset", fmt.Sprint(blocks*4096), "--salt", salt, "--uuid", testUUID)
	f := openSized(t, data)
	sb, err := Verify(context.Background(), f, f, root, VerifyOptions{HashOffset: blocks * 4096, SameDevice: true})
	if err != nil {
		t.Fatal(err)
	}
	if sb.DataBlocks != blocks || hex.EncodeToString(sb.Salt) != salt {
		t.Errorf("superblock %+v", sb)
	}
	if _, g, err := CheckRoot(f, f, root, VerifyOptions{HashOffset: blocks * 4096, SameDevice: true}); err != nil || g.HashStart != blocks+1 {
		t.Errorf("CheckRoot: %v, %+v", err, g)
	}
}

// A tree on the data's own device whose data covers its superblock block:
// every hash is right, but the hash area overlaps the data. veritysetup
// format refuses to write that layout ("Data area overlaps with hash
// area.") and we refuse to verify or open it. veritysetup verify (2.6.1)
// checks no overlap and accepts it: we are stricter there, on purpose, so
// a device's reads never see its own hash blocks as data.
func TestOverlapAsVeritysetup(t *testing.T) {
	vs := peer.Tool(t, "veritysetup")
	const blocks = 300
	data := filepath.Join(t.TempDir(), "data")
	writeImage(t, data, blocks*4096, 9)
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	dev, root := appendedDevice(t, b, blocks+1)
	if err := os.WriteFile(data, dev, 0o644); err != nil {
		t.Fatal(err)
	}
	offset := fmt.Sprint(blocks * 4096)

	out, err := exec.Command(vs, "format", "--hash-offset", offset, "--data-blocks", fmt.Sprint(blocks+1),
		"--salt", "5a", "--uuid", testUUID, data, data).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("Data area overlaps with hash area")) {
		t.Errorf("veritysetup format of an overlapping layout: %v\n%s", err, out)
	}
	// veritysetup verify accepting it proves every hash of the layout
	// right, so what we refuse below is the overlap alone.
	if out, err := exec.Command(vs, "verify", "--hash-offset", offset, data, data, hex.EncodeToString(root)).CombinedOutput(); err != nil {
		t.Errorf("veritysetup verify: %v\n%s", err, out)
	}

	f := openSized(t, data)
	opt := VerifyOptions{HashOffset: blocks * 4096, SameDevice: true}
	if _, err := Verify(context.Background(), f, f, root, opt); !errors.Is(err, ErrOverlap) {
		t.Errorf("Verify: %v, want ErrOverlap", err)
	}
	if _, _, err := CheckRoot(f, f, root, opt); !errors.Is(err, ErrOverlap) {
		t.Errorf("CheckRoot: %v, want ErrOverlap", err)
	}
}

// The recipe of testdata/golden, run again with the installed veritysetup,
// gives the committed goldens.
func TestGoldenRecipe(t *testing.T) {
	peer.Tool(t, "veritysetup")
	dir := t.TempDir()
	if out, err := exec.Command("sh", filepath.Join("testdata", "golden", "mk.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("mk.sh: %v\n%s", err, out)
	}
	for _, g := range goldens {
		for _, ext := range []string{".verity", ".root"} {
			fresh, err := os.ReadFile(filepath.Join(dir, g.name+ext))
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(filepath.Join("testdata", "golden", g.name+ext))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh, committed) {
				t.Errorf("%s%s: veritysetup now writes other bytes than the committed golden", g.name, ext)
			}
		}
	}
}
