package nar

import (
	"encoding/binary"
	"io"
)

// tokenWriter writes NAR strings and length-prefixed contents through a
// sticky error, so the serialiser reads as the grammar does.
type tokenWriter struct {
	w   io.Writer
	err error
	buf [8]byte
}

var zeros [8]byte

func (t *tokenWriter) u64(n uint64) {
	if t.err != nil {
		return
	}
	binary.LittleEndian.PutUint64(t.buf[:], n)
	_, t.err = t.w.Write(t.buf[:])
}

func (t *tokenWriter) pad(n uint64) {
	if t.err != nil {
		return
	}
	if r := n % 8; r != 0 {
		_, t.err = t.w.Write(zeros[:8-r])
	}
}

func (t *tokenWriter) str(s string) {
	t.u64(uint64(len(s)))
	if t.err != nil {
		return
	}
	_, t.err = io.WriteString(t.w, s)
	t.pad(uint64(len(s)))
}

func (t *tokenWriter) strs(ss ...string) {
	for _, s := range ss {
		t.str(s)
	}
}
