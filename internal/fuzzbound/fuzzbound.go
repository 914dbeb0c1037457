// Package fuzzbound holds the checks every fuzz target makes besides "no
// panic": that a parser given hostile bytes finishes in bounded time and
// allocates no more than its input justifies, so a count, size or length
// field cannot make it allocate without bound or hang.
//
// It is for tests only; it trusts nothing it is given.
package fuzzbound

import (
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// Slack is what any parse may allocate whatever its input: error
// messages, small tables, a copy buffer (1 MiB in authenticode's hash).
const Slack = 4 << 20

// Timeout is how long one input may take. It is generous because fuzz
// workers share a loaded machine; a parser stuck on a length field takes
// far longer.
const Timeout = 20 * time.Second

// Check runs fn and fails t if it runs longer than Timeout or allocates
// more than maxAlloc bytes in total (the runtime's cumulative count of heap
// bytes allocated, so every allocation counts, even one freed at once).
func Check(t testing.TB, maxAlloc uint64, fn func()) {
	t.Helper()
	before := allocated()
	done := make(chan any, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
			close(done)
		}()
		fn()
	}()
	select {
	case p := <-done:
		if p != nil {
			panic(p) // the fuzzer reports it, with the parser's stack
		}
	case <-time.After(Timeout):
		t.Fatalf("no result after %v: the parser hangs on this input", Timeout)
	}
	if n := allocated() - before; n > maxAlloc {
		t.Fatalf("allocated %d bytes, more than the %d this input justifies", n, maxAlloc)
	}
}

// allocated reads the heap bytes allocated so far. runtime/metrics reads it
// without stopping the world, as runtime.ReadMemStats would on every input.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Linear is the allocation bound for a parser that may keep a few copies
// of its input: factor bytes per input byte, plus Slack.
func Linear(input []byte, factor uint64) uint64 {
	return uint64(len(input))*factor + Slack
}
