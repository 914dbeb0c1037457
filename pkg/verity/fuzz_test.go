package verity

import (
	"bytes"
	"context"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// Seeds in testdata/fuzz were made by veritysetup format (testdata/mkfuzzseeds).

// FuzzReadSuperblock reads a superblock from an untrusted hash device as
// image open does, and computes the geometry it describes, without
// panicking or allocating per data block. (FuzzSuperblock, beside the
// superblock tests, checks the decode/encode round trip on a made-up
// superblock; this one starts from veritysetup's.) What reads encodes back
// to the same significant bytes: like cryptsetup, the reader ignores the
// padding and the algorithm name's bytes after its NUL, which the writer
// leaves zero (regression-ignored-bytes).
func FuzzReadSuperblock(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, b []byte) {
		sb, err := ReadSuperblock(bytes.NewReader(b), 0)
		if err != nil {
			return
		}
		out, err := sb.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary refuses a superblock ReadSuperblock accepted: %v", err)
		}
		if n := offSalt + len(sb.Salt); !bytes.Equal(out[:n], significant(b[:n])) {
			t.Fatal("the superblock encodes to other bytes than were read")
		}
		if g, err := GeometryOf(sb, 0); err == nil {
			_, _ = g.HashDeviceSize(), g.DataSize()
		}
	})
}

// significant is a copy of a superblock's bytes with those the format
// ignores set to zero: the padding before the salt and the algorithm field
// after the name's NUL.
func significant(b []byte) []byte {
	b = bytes.Clone(b)
	alg := b[offAlgorithm : offAlgorithm+algorithmLen]
	if i := bytes.IndexByte(alg, 0); i >= 0 {
		clear(alg[i:])
	}
	clear(b[offSaltSize+2 : offSalt])
	return b
}

// FuzzCheckRoot opens a hash device and data as `image open` (CheckRoot,
// one block) and `image verify` (Verify, every block) do, against a root
// hash. Both devices are the fuzzer's, so a tree that hashes up to the root
// can only be one the seeds (or a hash collision) provide.
func FuzzCheckRoot(f *testing.F) {
	f.Fuzz(func(t *testing.T, hash, data, root []byte) {
		fuzzbound.Check(t, fuzzbound.Linear(hash, 8)+fuzzbound.Linear(data, 2), func() {
			h, d := bytes.NewReader(hash), bytes.NewReader(data)
			_, _, okRoot := CheckRoot(d, h, root, VerifyOptions{Workers: 1})
			_, okAll := Verify(context.Background(), d, h, root, VerifyOptions{Workers: 1})
			if okAll == nil && okRoot != nil {
				t.Fatalf("Verify accepts what CheckRoot refuses: %v", okRoot)
			}
		})
	})
}

// TestFuzzSeeds proves the seeds are hash trees that verify against their
// root hash, and superblocks that read.
func TestFuzzSeeds(t *testing.T) {
	for name, args := range fuzzbound.Seeds(t, "FuzzCheckRoot") {
		h, d := bytes.NewReader(args[0]), bytes.NewReader(args[1])
		if _, _, err := CheckRoot(d, h, args[2], VerifyOptions{Workers: 1}); err != nil {
			t.Errorf("%s: CheckRoot: %v", name, err)
		}
		if _, err := Verify(context.Background(), d, h, args[2], VerifyOptions{Workers: 1}); err != nil {
			t.Errorf("%s: Verify: %v", name, err)
		}
	}
	fuzzbound.EachSeed(t, "FuzzReadSuperblock", func(b []byte) error {
		_, err := ReadSuperblock(bytes.NewReader(b), 0)
		return err
	})
}
