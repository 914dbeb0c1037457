package verity

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func validSuperblock() *Superblock {
	return &Superblock{
		Version: 1, HashType: 1, Algorithm: "sha256",
		UUID:          [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		DataBlockSize: 4096, HashBlockSize: 4096, DataBlocks: 129,
		Salt: []byte{0xde, 0xad},
	}
}

func TestSuperblockRoundTrip(t *testing.T) {
	sb := validSuperblock()
	b, err := sb.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != SuperblockSize || !bytes.HasPrefix(b, []byte("verity\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00")) {
		t.Fatalf("bad encoding % x", b[:16])
	}
	var got Superblock
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, sb) {
		t.Errorf("round trip: %+v, want %+v", got, sb)
	}
}

// Hostile superblocks give ErrSuperblock, never a panic or a huge
// allocation.
func TestSuperblockRejects(t *testing.T) {
	good, _ := validSuperblock().MarshalBinary()
	le := binary.LittleEndian
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:100] }},
		{"signature", func(b []byte) []byte { b[0] = 'V'; return b }},
		{"version", func(b []byte) []byte { le.PutUint32(b[8:], 2); return b }},
		{"hash type 0", func(b []byte) []byte { le.PutUint32(b[12:], 0); return b }},
		{"algorithm", func(b []byte) []byte { copy(b[32:], "sha1\x00\x00"); return b }},
		{"data block size", func(b []byte) []byte { le.PutUint32(b[64:], 4097); return b }},
		{"hash block size", func(b []byte) []byte { le.PutUint32(b[68:], 0); return b }},
		{"no data blocks", func(b []byte) []byte { le.PutUint64(b[72:], 0); return b }},
		{"salt size", func(b []byte) []byte { le.PutUint16(b[80:], 257); return b }},
	}
	for _, tt := range tests {
		b := tt.mutate(bytes.Clone(good))
		var sb Superblock
		if err := sb.UnmarshalBinary(b); !errors.Is(err, ErrSuperblock) {
			t.Errorf("%s: got %v, want ErrSuperblock", tt.name, err)
		}
	}
}

func FuzzSuperblock(f *testing.F) {
	good, _ := validSuperblock().MarshalBinary()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		var sb Superblock
		if sb.UnmarshalBinary(b) != nil {
			return
		}
		out, err := sb.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted superblock does not marshal: %v", err)
		}
		var again Superblock
		if err := again.UnmarshalBinary(out); err != nil || !reflect.DeepEqual(&again, &sb) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
