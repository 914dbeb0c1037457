package pe

import (
	"math/rand"
	"testing"
)

func TestChecksummerMatchesChecksum(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"zeros", make([]byte, 1000)},
		{"ones", bytesOf(0xff, 4097)},
		{"odd", []byte{1, 2, 3}},
		{"sum-to-ffff", []byte{0xff, 0xff, 0, 0}},
		{"wraps", bytesOf(0xff, 70000)},
	}
	for i := 0; i < 20; i++ {
		b := make([]byte, rng.Intn(5000))
		rng.Read(b)
		cases = append(cases, struct {
			name string
			data []byte
		}{"random", b})
	}
	for _, tc := range cases {
		// The reference skips the field at checksumOffset; put it out of reach.
		want := Checksum(tc.data, -8)
		var c Checksummer
		// Feed in uneven chunks to exercise odd offsets.
		p := tc.data
		for k := 1; len(p) > 0; k = (k*3 + 1) % 1000 {
			n := min(k%37+1, len(p))
			c.Write(p[:n])
			p = p[n:]
		}
		if got := c.Sum(int64(len(tc.data))); got != want {
			t.Errorf("%s (%d bytes): got %#x, want %#x", tc.name, len(tc.data), got, want)
		}
	}
}

func TestChecksummerAddAt(t *testing.T) {
	data := make([]byte, 301)
	rand.New(rand.NewSource(2)).Read(data)
	for _, off := range []int{0, 7, 64, 299} {
		patched := append([]byte(nil), data...)
		copy(patched[off:], []byte{9, 8})
		zeroed := append([]byte(nil), data...)
		copy(zeroed[off:], []byte{0, 0})
		var c Checksummer
		c.Write(zeroed)
		c.AddAt(int64(off), []byte{9, 8})
		if got, want := c.Sum(int64(len(data))), Checksum(patched, -8); got != want {
			t.Errorf("offset %d: got %#x, want %#x", off, got, want)
		}
	}
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}
