// Package fuzzbound holds the checks every fuzz target makes besides "no
// panic": that a parser given hostile bytes finishes in bounded time and
// allocates no more than its input justifies, so a count, size or length
// field cannot make it allocate without bound or hang.
//
// It is for tests only; it trusts nothing it is given.
package fuzzbound

import (
	"fmt"
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

// Fuzz is f.Fuzz for a target of one []byte argument whose body is held
// to Check's bounds, with Linear(input, factor) as the allocation bound.
func Fuzz(f *testing.F, factor uint64, body func(t *testing.T, input []byte)) {
	f.Helper()
	f.Fuzz(func(t *testing.T, input []byte) {
		Check(t, Linear(input, factor), func() { body(t, input) })
	})
}

// Check runs fn on the test's goroutine (so fn may call t.Fatal) and fails
// t if it allocates more than maxAlloc bytes in total (the runtime's
// cumulative count of heap bytes allocated, so every allocation counts,
// even one freed at once). If fn runs longer than Timeout the process
// panics: the fuzzer reports a worker that dies as a crash and keeps the
// input, which it cannot do for a worker that never returns.
func Check(t testing.TB, maxAlloc uint64, fn func()) {
	t.Helper()
	before := allocated()
	watchdog := time.AfterFunc(Timeout, func() {
		panic(fmt.Sprintf("fuzzbound: no result after %v: the code under test hangs on this input", Timeout))
	})
	defer watchdog.Stop()
	fn()
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
