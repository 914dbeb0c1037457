// Package fuzzbound holds the checks every fuzz target makes besides "no
// panic": that a parser given hostile bytes finishes in bounded time and
// allocates no more than its input justifies, so a count, size or length
// field cannot make it allocate without bound or hang.
//
// It is for tests only; it trusts nothing it is given.
package fuzzbound

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	countExec()
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

// StatsEnv names a directory where, when it is set, each fuzzing process
// writes how many inputs Check has run in it (a file per process id,
// rewritten every second). go test's own "execs" figure lags: the
// coordinator counts a worker's inputs only when the worker reports back,
// which it may not do for minutes (golang/go#51484). scripts/fuzz adds the
// files up.
const StatsEnv = "FUZZBOUND_STATS"

var (
	execs     atomic.Uint64
	statsOnce sync.Once
)

func countExec() {
	execs.Add(1)
	statsOnce.Do(func() {
		dir := os.Getenv(StatsEnv)
		if dir == "" {
			return
		}
		file := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		go func() {
			for range time.Tick(time.Second) {
				_ = os.WriteFile(file, []byte(strconv.FormatUint(execs.Load(), 10)+"\n"), 0o644)
			}
		}()
	})
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

// Seeds reads the seeds a recipe made for target in testdata/fuzz/target:
// per file name, the []byte arguments in order. A test proves with it that
// the seeds are what their recipe says (valid inputs that reach the deep
// code) and not left stale by a format change. Crashers kept as regression
// seeds (named regression-WHAT, or still under the fuzzer's hex name) are
// left out: they are not valid inputs.
func Seeds(t testing.TB, target string) map[string][][]byte {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	files, err := os.ReadDir(dir)
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds for %s in %s: %v", target, dir, err)
	}
	seeds := map[string][][]byte{}
	for _, fi := range files {
		if crasherName.MatchString(fi.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, fi.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s/%s is not a corpus file", dir, fi.Name())
		}
		for _, l := range lines[1:] {
			q, ok := strings.CutPrefix(l, "[]byte(")
			q, ok2 := strings.CutSuffix(q, ")")
			v, err := strconv.Unquote(q)
			if !ok || !ok2 || err != nil {
				t.Fatalf("%s/%s: not a []byte value: %v", dir, fi.Name(), err)
			}
			seeds[fi.Name()] = append(seeds[fi.Name()], []byte(v))
		}
	}
	return seeds
}

var crasherName = regexp.MustCompile(`^(regression-.*|[0-9a-f]{16})$`)

// EachSeed calls check with the first argument of every seed of target,
// failing t with the seed's name if check returns an error.
func EachSeed(t *testing.T, target string, check func(input []byte) error) {
	t.Helper()
	for name, args := range Seeds(t, target) {
		if err := check(args[0]); err != nil {
			t.Errorf("seed %s/%s: %v", target, name, err)
		}
	}
}
