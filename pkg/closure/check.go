package closure

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"
	"golang.org/x/sys/unix"
)

// Counters are updated while Check runs, for progress displays.
type Counters struct {
	Paths atomic.Uint64 // store paths finished (version 2: walked)
	Bytes atomic.Uint64 // NAR bytes hashed (version 2: file bytes)
	Files atomic.Uint64 // version 2: regular files checked
}

// CheckOptions configures Check.
type CheckOptions struct {
	Root     string // directory the store lives under ("" or "/" for none); resolved as given, nothing below it is followed
	Jobs     int    // parallel workers; 0 means one per CPU
	Metadata MetadataChecks
	Counters *Counters // optional

	// Version 2 manifests only (CheckV2): how regular files are checked,
	// and for CheckVerity the function that returns the fs-verity digest
	// of a file open as fd (FS_IOC_MEASURE_VERITY; package fsverity).
	Files         FileCheck
	MeasureVerity func(fd int) ([sha256.Size]byte, error)
}

// Report is the outcome of Check.
type Report struct {
	Paths    int
	Files    int    // version 2: regular files checked
	Bytes    uint64 // NAR bytes hashed (version 2: file bytes read)
	Duration time.Duration
	Problems []Problem // in manifest order, then walk order
}

// OK reports whether the store matched the manifest.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// FailedPaths counts the store paths with at least one problem.
func (r *Report) FailedPaths() int {
	n, last := 0, ""
	for _, p := range r.Problems {
		if p.StorePath != last {
			n++
			last = p.StorePath
		}
	}
	return n
}

// ErrRoot reports a root or store directory that cannot be checked at all.
var ErrRoot = errors.New("cannot check store")

// Check compares the store under opts.Root with the manifest. Differences
// are returned in the report; the error is for a check that could not run
// (no store directory under the root: ErrRoot; a cancelled context) or that
// failed before any store path was read (ErrSymlinkAboveStore).
//
// The store directory is opened below the root without following any
// symlink (see openStoreDir), and every store path is read from that
// directory's descriptor, so what is checked is what the booted system
// finds at the same path.
func Check(ctx context.Context, m *Manifest, opts CheckOptions) (*Report, error) {
	storeFD, jobs, err := openForWorkers(opts.Root, m.StoreDir, opts.Jobs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(storeFD)
	counters := opts.Counters
	if counters == nil {
		counters = &Counters{}
	}
	start := time.Now()

	// Largest first, so that one big path does not start last and leave the
	// other workers idle at the end.
	order := make([]int, len(m.Entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return m.Entries[order[a]].NarSize > m.Entries[order[b]].NarSize })

	results := make([][]Problem, len(m.Entries))
	var hashed atomic.Uint64
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := checker{storeFD: storeFD, checks: opts.Metadata, counters: counters}
			for i := range work {
				var n uint64
				results[i], n = c.checkEntry(m.Entries[i])
				hashed.Add(n)
				counters.Paths.Add(1)
			}
		}()
	}
feed:
	for _, i := range order {
		select {
		case work <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	rep := &Report{Paths: len(m.Entries), Bytes: hashed.Load(), Duration: time.Since(start)}
	for _, ps := range results {
		rep.Problems = append(rep.Problems, ps...)
	}
	return rep, nil
}

// openForWorkers opens the store directory under root (see openStoreDir)
// and says how many workers to run: jobs, or one per CPU.
func openForWorkers(root, storeDir string, jobs int) (int, int, error) {
	if root == "" {
		root = "/"
	}
	fd, err := openStoreDir(root, storeDir)
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	return fd, jobs, err
}

// checker is one worker's state.
type checker struct {
	storeFD  int // the store directory, opened without following symlinks
	checks   MetadataChecks
	counters *Counters
	h        meteredHash
	xattrBuf []byte
}

func (c *checker) checkEntry(e Entry) ([]Problem, uint64) {
	var problems []Problem
	add := func(p Problem) {
		p.StorePath = e.Path
		problems = append(problems, p)
	}
	name := path.Base(e.Path)
	var st unix.Stat_t
	if err := unix.Fstatat(c.storeFD, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			add(Problem{Path: e.Path, Kind: KindMissing})
		} else {
			add(Problem{Path: e.Path, Kind: KindUnreadable, Detail: "lstat " + e.Path + ": " + err.Error()})
		}
		return problems, 0
	}
	d := nar.Dumper{Visit: func(ne *nar.Entry) error {
		for _, prob := range c.checks.problems(metaOf(ne), &c.xattrBuf) {
			prob.Path = ne.Path
			add(prob)
		}
		return nil
	}}
	c.h.reset(c.counters)
	err := d.DumpAt(&c.h, c.storeFD, name, e.Path)
	c.h.flush()
	if err != nil {
		var ute *nar.UnsupportedTypeError
		if errors.As(err, &ute) {
			add(Problem{Path: ute.Path, Kind: KindEntryType, Actual: nar.TypeName(ute.Mode)})
		} else {
			add(Problem{Path: e.Path, Kind: KindUnreadable, Detail: errText(err)})
		}
		return problems, c.h.n
	}
	var sum [sha256.Size]byte
	c.h.h.Sum(sum[:0])
	if sum != e.NarHash {
		add(Problem{Path: e.Path, Kind: KindHash,
			Expected: "sha256:" + nixbase32.EncodeToString(e.NarHash[:]),
			Actual:   "sha256:" + nixbase32.EncodeToString(sum[:])})
	}
	if c.h.n != e.NarSize {
		add(Problem{Path: e.Path, Kind: KindSize, Expected: fmt.Sprint(e.NarSize), Actual: fmt.Sprint(c.h.n)})
	}
	return problems, c.h.n
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// meteredHash hashes a NAR stream, counting its length and publishing
// progress in steps, so workers do not contend on the shared counter.
type meteredHash struct {
	h        hash.Hash
	n        uint64
	pending  uint64
	counters *Counters
}

const progressStep = 1 << 20

func (m *meteredHash) reset(c *Counters) {
	if m.h == nil {
		m.h = sha256.New()
	}
	m.h.Reset()
	m.n, m.pending, m.counters = 0, 0, c
}

func (m *meteredHash) Write(p []byte) (int, error) {
	m.h.Write(p)
	m.n += uint64(len(p))
	m.pending += uint64(len(p))
	if m.pending >= progressStep {
		m.flush()
	}
	return len(p), nil
}

func (m *meteredHash) flush() {
	m.counters.Bytes.Add(m.pending)
	m.pending = 0
}
