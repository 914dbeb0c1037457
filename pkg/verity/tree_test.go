package verity

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// Same inputs, same bytes, whatever the number of workers.
func TestComputeReproducible(t *testing.T) {
	data := make([]byte, 20000*4096+17)
	for i := range data {
		data[i] = byte(i * 7 / 4096)
	}
	var first []byte
	for _, workers := range []int{1, 2, 3, 8, 0} {
		tree, err := Compute(context.Background(), bytes.NewReader(data), Params{Salt: []byte{1, 2, 3}, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := tree.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b.Bytes()
		} else if !bytes.Equal(first, b.Bytes()) {
			t.Fatalf("%d workers: different bytes", workers)
		}
	}
}

func TestComputeRejects(t *testing.T) {
	tests := []struct {
		name string
		size int
		p    Params
		want error
	}{
		{"empty", 0, Params{}, ErrEmpty},
		{"less than a block", 4095, Params{}, ErrEmpty},
		{"salt too long", 4096, Params{Salt: make([]byte, 257)}, ErrParams},
		{"bad block size", 4096, Params{DataBlockSize: 3000}, ErrParams},
		{"more blocks than data", 4096, Params{DataBlocks: 2}, ErrDataTooSmall},
	}
	for _, tt := range tests {
		_, err := Compute(context.Background(), bytes.NewReader(make([]byte, tt.size)), tt.p)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestTableParams(t *testing.T) {
	g, _ := NewGeometry(4096, 4096, 129, true, 0)
	root := bytes.Repeat([]byte{0xab}, 32)
	got, err := TableParams(g, []byte{1, 2}, root, "7:0", "7:1", "restart_on_corruption")
	if err != nil {
		t.Fatal(err)
	}
	want := "1 7:0 7:1 4096 4096 129 1 sha256 " + string(bytes.Repeat([]byte("ab"), 32)) + " 0102 1 restart_on_corruption"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got, _ = TableParams(g, nil, root, "a", "b")
	if want := "1 a b 4096 4096 129 1 sha256 " + string(bytes.Repeat([]byte("ab"), 32)) + " -"; got != want {
		t.Errorf("no salt: got %s", got)
	}
	if g.Sectors() != 129*8 {
		t.Errorf("sectors %d", g.Sectors())
	}
	if _, err := TableParams(g, nil, root[:5], "a", "b"); !errors.Is(err, ErrRootHashLength) {
		t.Errorf("short root: %v", err)
	}
}

func TestOnCorruption(t *testing.T) {
	tests := []struct {
		mode string
		want []string
		err  error
	}{
		{mode: "eio"},
		{mode: "restart", want: []string{"restart_on_corruption"}},
		{mode: "panic", want: []string{"panic_on_corruption"}},
		{mode: "ignore", err: ErrParams},
		{mode: "", err: ErrParams},
	}
	for _, tt := range tests {
		got, err := OnCorruption(tt.mode)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("OnCorruption(%q) = %q, %v; want %q, %v", tt.mode, got, err, tt.want, tt.err)
		}
	}
}
