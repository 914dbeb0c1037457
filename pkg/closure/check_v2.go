package closure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
	"golang.org/x/sys/unix"
)

// FileCheck says how a version 2 check verifies the contents of regular
// files. Directories, symlinks, names, types, sizes, the executable bit and
// metadata are checked by the walk either way.
type FileCheck int

const (
	// CheckContents reads every file and compares the sha256 of its
	// contents with the manifest's.
	CheckContents FileCheck = iota
	// CheckVerity reads no contents: CheckOptions.MeasureVerity must give
	// the file's fs-verity digest (from the kernel, which checks every
	// later read against it), compared with the manifest's.
	CheckVerity
)

// ErrNoMeasure reports CheckVerity asked without a MeasureVerity function.
var ErrNoMeasure = errors.New("fs-verity check asked for, but no way to measure files given")

// fileJob is one regular file for a worker: the name in a directory the
// walk keeps open until the job is done, as the walk's lstat saw it.
type fileJob struct {
	dir       *dirRef
	name      string
	full      string
	storePath string
	st        unix.Stat_t
	node      *Node
	key       problemKey
}

// dirRef is a directory descriptor shared by the walk and the file jobs in
// it; the last one to release it closes it.
type dirRef struct {
	fd   int
	refs atomic.Int32
	keep bool // the store directory, closed by Check
}

func newDirRef(fd int) *dirRef { d := &dirRef{fd: fd}; d.refs.Store(1); return d }
func (d *dirRef) acquire()     { d.refs.Add(1) }
func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 && !d.keep {
		unix.Close(d.fd)
	}
}

// problemKey orders problems: store paths in manifest order, then entries
// in NAR order, then in the order they were found.
type problemKey struct{ path, node, seq int }

type keyedProblem struct {
	key problemKey
	p   Problem
}

type v2check struct {
	opts     CheckOptions
	counters *Counters
	mu       sync.Mutex
	problems []keyedProblem
	seq      atomic.Int64
}

func (s *v2check) add(key problemKey, storePath string, p Problem) {
	p.StorePath = storePath
	key.seq = int(s.seq.Add(1))
	s.mu.Lock()
	s.problems = append(s.problems, keyedProblem{key, p})
	s.mu.Unlock()
}

// CheckV2 compares the store under opts.Root with a version 2 manifest,
// read as a stream from mr. The walk of each store path runs on the
// calling goroutine; regular files go to opts.Jobs workers, so one store
// path with many files is checked on all cores. Every difference is named
// by the entry it concerns: missing, extra-entry, type, executable, size,
// content-hash (or fs-verity), symlink-target, and the metadata checks of
// Check. A manifest that turns out malformed part-way is an error (wrapping
// ErrManifest), never a partial pass.
func CheckV2(ctx context.Context, mr *ManifestReader, opts CheckOptions) (*Report, error) {
	if opts.Files == CheckVerity && opts.MeasureVerity == nil {
		return nil, ErrNoMeasure
	}
	h := mr.Header()
	storeFD, jobs, err := openForWorkers(opts.Root, h.StoreDir, opts.Jobs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(storeFD)
	store := newDirRef(storeFD)
	store.keep = true
	s := &v2check{opts: opts, counters: opts.Counters}
	if s.counters == nil {
		s.counters = &Counters{}
	}
	start := time.Now()
	var read atomic.Uint64
	work := make(chan fileJob, 64*jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := fileWorker{s: s}
			for j := range work {
				read.Add(w.check(&j))
				j.dir.release()
				s.counters.Files.Add(1)
			}
		}()
	}
	var files int
	var runErr error
	for i := 0; ; i++ {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		pn, err := mr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			runErr = err
			break
		}
		files += (&pathWalk{s: s, idx: i, pn: pn, work: work}).run(store)
		s.counters.Paths.Add(1)
	}
	close(work)
	wg.Wait()
	if runErr != nil {
		return nil, runErr
	}
	sort.Slice(s.problems, func(a, b int) bool {
		ka, kb := s.problems[a].key, s.problems[b].key
		if ka.path != kb.path {
			return ka.path < kb.path
		}
		if ka.node != kb.node {
			return ka.node < kb.node
		}
		return ka.seq < kb.seq
	})
	rep := &Report{Paths: int(h.Paths), Files: files, Bytes: read.Load(), Duration: time.Since(start)}
	for _, kp := range s.problems {
		rep.Problems = append(rep.Problems, kp.p)
	}
	return rep, nil
}

// pathWalk walks one store path against its entries, comparing names,
// types, symlink targets and metadata, and hands regular files to the
// workers.
type pathWalk struct {
	s        *v2check
	idx      int
	pn       *PathNodes
	work     chan<- fileJob
	index    map[string]int
	seen     []bool // found, with the manifest's type
	listed   []bool // directories whose entries were listed
	files    int
	xattrBuf []byte
}

func (w *pathWalk) add(node int, p Problem) {
	w.s.add(problemKey{path: w.idx, node: node}, w.pn.Path, p)
}

// run returns the number of regular files handed to the workers.
func (w *pathWalk) run(store *dirRef) int {
	nodes := w.pn.Nodes
	w.index = make(map[string]int, len(nodes))
	for i := range nodes {
		w.index[nodes[i].Path] = i
	}
	w.seen, w.listed = make([]bool, len(nodes)), make([]bool, len(nodes))
	name := path.Base(w.pn.Path)
	var st unix.Stat_t
	if err := nar.LstatAt(store.fd, name, &st); err != nil {
		if err == unix.ENOENT {
			w.add(0, Problem{Path: w.pn.Path, Kind: KindMissing})
		} else {
			w.add(0, Problem{Path: w.pn.Path, Kind: KindUnreadable, Detail: "lstat " + w.pn.Path + ": " + err.Error()})
		}
		return 0
	}
	w.entry(store, name, w.pn.Path, 0, &st)
	for i := 1; i < len(nodes); i++ {
		if w.seen[i] {
			continue
		}
		// Only the topmost missing entry is named: below it nothing was
		// listed.
		if p := w.index[parentOf(nodes[i].Path)]; w.listed[p] {
			w.add(i, Problem{Path: NodeFullPath(w.pn.Path, nodes[i].Path), Kind: KindMissing, Expected: nodes[i].Type.String(), Actual: "nothing"})
		}
	}
	return w.files
}

func parentOf(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return "."
}

func nodeTypeOf(st *unix.Stat_t) (NodeType, bool) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return NodeDirectory, true
	case unix.S_IFREG:
		return NodeRegular, true
	case unix.S_IFLNK:
		return NodeSymlink, true
	}
	return 0, false
}

// entry checks the entry called name in dir, which lstat described as st,
// against node i.
func (w *pathWalk) entry(dir *dirRef, name, full string, i int, st *unix.Stat_t) {
	n := &w.pn.Nodes[i]
	t, ok := nodeTypeOf(st)
	if !ok {
		w.add(i, Problem{Path: full, Kind: KindEntryType, Actual: nar.TypeName(nar.StatMode(st))})
		return
	}
	if t != n.Type {
		w.add(i, Problem{Path: full, Kind: KindType, Expected: n.Type.String(), Actual: t.String()})
		return
	}
	w.seen[i] = true
	switch t {
	case NodeRegular:
		dir.acquire()
		w.files++
		w.work <- fileJob{dir: dir, name: name, full: full, storePath: w.pn.Path, st: *st, node: n, key: problemKey{path: w.idx, node: i}}
	case NodeSymlink:
		target, err := nar.ReadlinkAt(dir.fd, name, st.Size)
		if err != nil {
			w.add(i, Problem{Path: full, Kind: KindUnreadable, Detail: "readlink " + full + ": " + err.Error()})
			return
		}
		if target != n.Target {
			w.add(i, Problem{Path: full, Kind: KindTarget, Expected: n.Target, Actual: target})
		}
		w.metadata(i, entryMeta{Path: full, Mode: nar.StatMode(st), St: st, DirFD: dir.fd, Name: name, FD: -1})
	case NodeDirectory:
		w.directory(dir, name, full, i, st)
	}
}

func (w *pathWalk) metadata(i int, m entryMeta) {
	for _, p := range w.s.opts.Metadata.problems(m, &w.xattrBuf) {
		p.Path = m.Path
		w.add(i, p)
	}
}

func (w *pathWalk) directory(parent *dirRef, name, full string, i int, st *unix.Stat_t) {
	fd, fst, err := openListed(parent.fd, name, full, st, unix.O_DIRECTORY)
	if err != nil {
		w.add(i, Problem{Path: full, Kind: KindUnreadable, Detail: errText(err)})
		return
	}
	dir := newDirRef(fd)
	defer dir.release()
	w.metadata(i, entryMeta{Path: full, Mode: nar.StatMode(fst), St: fst, DirFD: parent.fd, Name: name, FD: fd})
	names, err := listDir(fd)
	if err != nil {
		w.add(i, Problem{Path: full, Kind: KindUnreadable, Detail: "reading directory " + full + ": " + err.Error()})
		return
	}
	w.listed[i] = true
	rel := w.pn.Nodes[i].Path
	var cst unix.Stat_t
	for _, child := range names {
		childRel := child
		if rel != "." {
			childRel = rel + "/" + child
		}
		childFull := full + "/" + child
		if err := nar.LstatAt(fd, child, &cst); err != nil {
			w.add(i, Problem{Path: childFull, Kind: KindUnreadable, Detail: "lstat " + childFull + ": " + err.Error()})
			continue
		}
		j, ok := w.index[childRel]
		if !ok || j == 0 {
			w.add(i, Problem{Path: childFull, Kind: KindExtra, Expected: "nothing", Actual: nar.TypeName(nar.StatMode(&cst))})
			continue
		}
		w.entry(dir, child, childFull, j, &cst)
	}
}

// fileWorker is one worker's state.
type fileWorker struct {
	s        *v2check
	h        meteredHash
	xattrBuf []byte
}

// check verifies one regular file as the options say and returns the
// number of bytes it read. This is the one place a file's contents are
// judged, for both modes.
func (w *fileWorker) check(j *fileJob) uint64 {
	switch w.s.opts.Files {
	case CheckVerity:
		w.measure(j)
		return 0
	default:
		return w.hash(j)
	}
}

func (w *fileWorker) add(j *fileJob, p Problem) {
	if p.Path == "" {
		p.Path = j.full
	}
	w.s.add(j.key, j.storePath, p)
}

// attributes checks what the walk cannot see before the file is opened:
// metadata, executable bit and size, from the opened file's fstat.
func (w *fileWorker) attributes(j *fileJob, m entryMeta) {
	for _, p := range w.s.opts.Metadata.problems(m, &w.xattrBuf) {
		w.add(j, p)
	}
	if exec := m.St.Mode&0o100 != 0; exec != j.node.Executable {
		w.add(j, Problem{Kind: KindExecutable, Expected: yesNo(j.node.Executable), Actual: yesNo(exec)})
	}
	if size := uint64(m.St.Size); size != j.node.Size {
		w.add(j, Problem{Kind: KindFileSize, Expected: fmt.Sprint(j.node.Size), Actual: fmt.Sprint(size)})
	}
}

func yesNo(b bool) string {
	if b {
		return "executable"
	}
	return "not executable"
}

// errNotRegular stops a dump that found something else than the file the
// walk listed.
var errNotRegular = errors.New("no longer a regular file")

// hash reads the file through the NAR serialiser, which opens it without
// following links or blocking, checks it is the entry listed and that it
// does not change while read, and hashes the contents on the way.
func (w *fileWorker) hash(j *fileJob) uint64 {
	w.h.reset(w.s.counters)
	var seenMeta bool
	d := nar.Dumper{
		Visit: func(e *nar.Entry) error {
			if !e.Info.Mode().IsRegular() {
				return errNotRegular
			}
			seenMeta = true
			w.attributes(j, metaOf(e))
			return nil
		},
		Contents: func(*nar.Entry) io.Writer { return &w.h },
	}
	err := d.DumpAt(io.Discard, j.dir.fd, j.name, j.full)
	w.h.flush()
	if err != nil {
		var ute *nar.UnsupportedTypeError
		switch {
		case errors.As(err, &ute):
			w.add(j, Problem{Kind: KindEntryType, Actual: nar.TypeName(ute.Mode)})
		case errors.Is(err, unix.ENOENT) && !seenMeta:
			w.add(j, Problem{Kind: KindMissing, Expected: j.node.Type.String(), Actual: "nothing"})
		default:
			w.add(j, Problem{Kind: KindUnreadable, Detail: errText(err)})
		}
		return w.h.n
	}
	var sum [sha256.Size]byte
	w.h.h.Sum(sum[:0])
	if sum != j.node.SHA256 {
		w.add(j, Problem{Kind: KindHash, Expected: "sha256:" + hex.EncodeToString(j.node.SHA256[:]), Actual: "sha256:" + hex.EncodeToString(sum[:])})
	}
	return w.h.n
}

// measure asks for the file's fs-verity digest instead of reading it.
func (w *fileWorker) measure(j *fileJob) {
	fd, fst, err := openListed(j.dir.fd, j.name, j.full, &j.st, 0)
	if err != nil {
		w.add(j, Problem{Kind: KindUnreadable, Detail: errText(err)})
		return
	}
	defer unix.Close(fd)
	w.attributes(j, entryMeta{Path: j.full, Mode: nar.StatMode(fst), St: fst, DirFD: j.dir.fd, Name: j.name, FD: fd})
	got, err := w.s.opts.MeasureVerity(fd)
	if err != nil {
		w.add(j, Problem{Kind: KindVerity, Expected: hex.EncodeToString(j.node.Verity[:]), Detail: err.Error()})
		return
	}
	if got != j.node.Verity {
		w.add(j, Problem{Kind: KindVerity, Expected: hex.EncodeToString(j.node.Verity[:]), Actual: hex.EncodeToString(got[:])})
	}
}

// openListed opens the entry lstat described as st without following a
// symlink or blocking, and checks with fstat that it is that entry.
func openListed(dirfd int, name, full string, st *unix.Stat_t, flags int) (int, *unix.Stat_t, error) {
	fd, err := openAt(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|flags)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, nil, fmt.Errorf("%s: %w (no longer a %s)", full, nar.ErrChangedWhileReading, nar.TypeName(nar.StatMode(st)))
		}
		return -1, nil, fmt.Errorf("open %s: %w", full, err)
	}
	fst := new(unix.Stat_t)
	if err := unix.Fstat(fd, fst); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("fstat %s: %w", full, err)
	}
	if fst.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT || fst.Dev != st.Dev || fst.Ino != st.Ino {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w (another entry was opened than the one listed)", full, nar.ErrChangedWhileReading)
	}
	return fd, fst, nil
}

// listDir returns a directory's names, sorted byte-wise (NAR order).
func listDir(fd int) ([]string, error) {
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	sort.Strings(names)
	return names, nil
}
