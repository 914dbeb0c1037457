package verity

import (
	"errors"
	"reflect"
	"testing"
)

// Expected layouts follow veritysetup's (checked byte for byte in
// peer_test.go); hash block counts match `veritysetup format` "Hash blocks:".
func TestNewGeometry(t *testing.T) {
	tests := []struct {
		blocks uint64
		sb     bool
		start  uint64
		levels []Level
	}{
		{blocks: 1, sb: true, start: 1, levels: []Level{}},
		{blocks: 2, sb: true, start: 1, levels: []Level{{1, 1}}},
		{blocks: 128, sb: true, start: 1, levels: []Level{{1, 1}}},
		{blocks: 129, sb: true, start: 1, levels: []Level{{2, 2}, {1, 1}}},
		{blocks: 16384, sb: true, start: 1, levels: []Level{{2, 128}, {1, 1}}},
		{blocks: 16385, sb: true, start: 1, levels: []Level{{4, 129}, {2, 2}, {1, 1}}},
		{blocks: 262144, sb: true, start: 1, levels: []Level{{18, 2048}, {2, 16}, {1, 1}}},
		{blocks: 129, sb: false, start: 0, levels: []Level{{1, 2}, {0, 1}}},
	}
	for _, tt := range tests {
		g, err := NewGeometry(4096, 4096, tt.blocks, tt.sb, 0)
		if err != nil {
			t.Fatalf("%d blocks: %v", tt.blocks, err)
		}
		if g.HashStart != tt.start || !reflect.DeepEqual(g.Levels, tt.levels) {
			t.Errorf("%d blocks: start %d levels %v, want %d %v", tt.blocks, g.HashStart, g.Levels, tt.start, tt.levels)
		}
	}
}

func TestNewGeometryRejects(t *testing.T) {
	tests := []struct {
		name     string
		dbs, hbs uint32
		blocks   uint64
		off      uint64
		want     error
	}{
		{"no blocks", 4096, 4096, 0, 0, ErrEmpty},
		{"odd block size", 4000, 4096, 1, 0, ErrParams},
		{"tiny hash block", 4096, 256, 1, 0, ErrParams},
		{"huge block", 1 << 20, 4096, 1, 0, ErrParams},
		{"overflow", 4096, 4096, 1 << 62, 0, ErrParams},
		{"unaligned offset", 4096, 4096, 10, 1000, ErrParams},
	}
	for _, tt := range tests {
		if _, err := NewGeometry(tt.dbs, tt.hbs, tt.blocks, true, tt.off); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestHashOffsetGeometry(t *testing.T) {
	// The tree appended to 129 data blocks, as `veritysetup format --hash-offset`.
	g, err := NewGeometry(4096, 4096, 129, true, 129*4096)
	if err != nil {
		t.Fatal(err)
	}
	if g.HashStart != 130 || g.Levels[1].Start != 130 || g.Levels[0].Start != 131 {
		t.Errorf("start %d levels %v", g.HashStart, g.Levels)
	}
	if g.HashDeviceSize() != 133*4096 {
		t.Errorf("hash device size %d", g.HashDeviceSize())
	}
}
