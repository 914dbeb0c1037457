package pe

import (
	"encoding/binary"
	"math/bits"
)

// Checksummer computes the PE CheckSum (see Checksum) of a file streamed
// through Write, so a large image need not be in memory. The CheckSum field
// must be zero in what is written. AddAt patches bytes that were written as
// zeros (a header field filled in later).
//
// The CheckSum is a 16-bit sum with end-around carry, so it equals the sum
// of the file's 16-bit words modulo 0xffff, except that a sum of all-zero
// words is 0 and a non-zero sum congruent to 0 is 0xffff. Summing 64-bit
// words with end-around carry keeps that congruence (2^16 ≡ 1 mod 0xffff)
// and runs at memory speed.
type Checksummer struct {
	sum     uint64 // congruent to the word sum modulo 0xffff
	nonzero bool
	n       int64
}

// Write adds p at the current position.
func (c *Checksummer) Write(p []byte) (int, error) {
	c.add(c.n, p)
	c.n += int64(len(p))
	return len(p), nil
}

// AddAt adds b at file offset off, where zeros were written before.
func (c *Checksummer) AddAt(off int64, b []byte) { c.add(off, b) }

func (c *Checksummer) add(off int64, p []byte) {
	sum, nz := c.sum, false
	if off&1 == 1 && len(p) > 0 {
		// A byte at an odd offset is the high half of its word.
		sum = addCarry(sum, uint64(p[0])<<8)
		nz = nz || p[0] != 0
		p = p[1:]
	}
	for len(p) >= 32 {
		a := binary.LittleEndian.Uint64(p)
		b := binary.LittleEndian.Uint64(p[8:])
		d := binary.LittleEndian.Uint64(p[16:])
		e := binary.LittleEndian.Uint64(p[24:])
		var carry uint64
		sum, carry = bits.Add64(sum, a, 0)
		sum, carry = bits.Add64(sum, b, carry)
		sum, carry = bits.Add64(sum, d, carry)
		sum, carry = bits.Add64(sum, e, carry)
		sum = addCarry(sum, carry)
		nz = nz || a|b|d|e != 0
		p = p[32:]
	}
	for len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		sum = addCarry(sum, w)
		nz = nz || w != 0
		p = p[8:]
	}
	for i, b := range p {
		sum = addCarry(sum, uint64(b)<<(8*(i&1)))
		nz = nz || b != 0
	}
	c.sum, c.nonzero = sum, c.nonzero || nz
}

// addCarry adds with end-around carry: 2^64 ≡ 1 modulo 0xffff.
func addCarry(sum, x uint64) uint64 {
	s, carry := bits.Add64(sum, x, 0)
	return s + carry // cannot carry again: s <= 2^64-2 when carry is 1
}

// Sum returns the CheckSum of a file of the given size.
func (c *Checksummer) Sum(size int64) uint32 {
	var r uint32
	if c.nonzero {
		r = uint32((c.sum+0xfffe)%0xffff) + 1 // in 1..0xffff
	}
	return r + uint32(size)
}
