package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
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
	haveStat  bool // st is set; otherwise the directory listing said regular
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
// after puts a problem after every problem of node and its entries (an
// extra entry found between two listed ones).
type problemKey struct{ path, node, after, seq int }

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
	jobs := opts.Jobs
	if jobs <= 0 && opts.Files == CheckVerity {
		// Measuring reads no contents: a worker mostly waits for an inode
		// and a verity descriptor to be read (cold cache), so more of them
		// keep the disk's queue full. In the VM benchmark, 4 per CPU took
		// a cold check from 13.1 s to 9.5-10.6 s; 16 per CPU did no better.
		jobs = 4 * runtime.NumCPU()
	}
	storeFD, jobs, err := openForWorkers(opts.Root, h.StoreDir, jobs)
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
	// Files go to the workers in batches: one channel operation (and at
	// most one wake-up) per batch rather than per file, which is most of
	// a file's cost when no contents are read (--fsverity).
	work := make(chan []fileJob, 4*jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := fileWorker{s: s}
			for batch := range work {
				for i := range batch {
					j := &batch[i]
					read.Add(w.check(j))
					j.dir.release()
				}
				s.counters.Files.Add(uint64(len(batch)))
			}
		}()
	}
	var files int
	var runErr error
	b := &batcher{work: work}
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
		files += (&pathWalk{s: s, idx: i, pn: pn, work: b}).run(store)
		b.flush()
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
		if ka.after != kb.after {
			return ka.after < kb.after
		}
		return ka.seq < kb.seq
	})
	rep := &Report{Paths: int(h.Paths), Files: files, Bytes: read.Load(), Duration: time.Since(start)}
	for _, kp := range s.problems {
		rep.Problems = append(rep.Problems, kp.p)
	}
	return rep, nil
}

// batchSize is how many files go to a worker at once.
const batchSize = 32

// batcher hands file jobs to the workers in batches.
type batcher struct {
	work  chan<- []fileJob
	batch []fileJob
}

func (b *batcher) add(j fileJob) {
	if b.batch == nil {
		b.batch = make([]fileJob, 0, batchSize)
	}
	b.batch = append(b.batch, j)
	if len(b.batch) == batchSize {
		b.flush()
	}
}

// flush sends what is batched; the walk calls it at the end of each store
// path, so progress and problems do not wait for later paths.
func (b *batcher) flush() {
	if len(b.batch) > 0 {
		b.work <- b.batch
		b.batch = nil
	}
}

// pathWalk walks one store path against its entries, comparing names,
// types, symlink targets and metadata, and hands regular files to the
// workers.
type pathWalk struct {
	s         *v2check
	idx       int
	pn        *PathNodes
	work      *batcher
	index     map[string]int
	seen      []bool // found, with the manifest's type
	listed    []bool // directories whose entries were listed
	files     int
	xattrBuf  []byte
	direntBuf []byte
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
// against node i; st is nil for a regular file the directory listing
// typed as such, which its worker will lstat.
func (w *pathWalk) entry(dir *dirRef, name, full string, i int, st *unix.Stat_t) {
	n := &w.pn.Nodes[i]
	t, ok := NodeRegular, true
	if st != nil {
		t, ok = nodeTypeOf(st)
	}
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
		j := fileJob{dir: dir, name: name, full: full, storePath: w.pn.Path, node: n, key: problemKey{path: w.idx, node: i}}
		if st != nil {
			j.st, j.haveStat = *st, true
		}
		w.work.add(j)
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
	if w.direntBuf == nil {
		w.direntBuf = make([]byte, 32<<10)
	}
	names, err := listDir(fd, w.direntBuf)
	if err != nil {
		w.add(i, Problem{Path: full, Kind: KindUnreadable, Detail: "reading directory " + full + ": " + err.Error()})
		return
	}
	w.listed[i] = true
	rel := w.pn.Nodes[i].Path
	var cst unix.Stat_t
	prev := i // the listed entry an unlisted one follows in NAR order
	for _, de := range names {
		child := de.name
		childRel := child
		if rel != "." {
			childRel = rel + "/" + child
		}
		childFull := full + "/" + child
		j, ok := w.index[childRel]
		ok = ok && j != 0
		if ok {
			prev = j
		}
		if ok && de.typ == unix.DT_REG {
			// The worker opens it and judges its fstat: no lstat here.
			w.entry(dir, child, childFull, j, nil)
			continue
		}
		err := nar.LstatAt(fd, child, &cst)
		switch {
		case err != nil && ok:
			w.add(j, Problem{Path: childFull, Kind: KindUnreadable, Detail: "lstat " + childFull + ": " + err.Error()})
		case err != nil:
			w.addAfter(prev, Problem{Path: childFull, Kind: KindUnreadable, Detail: "lstat " + childFull + ": " + err.Error()})
		case !ok:
			w.addAfter(prev, Problem{Path: childFull, Kind: KindExtra, Expected: "nothing", Actual: nar.TypeName(nar.StatMode(&cst))})
		default:
			w.entry(dir, child, childFull, j, &cst)
		}
	}
}

// addAfter reports a problem of an entry the manifest does not list, after
// those of node k and its entries: where it would be in NAR order.
func (w *pathWalk) addAfter(k int, p Problem) {
	end := k
	if w.pn.Nodes[k].Type == NodeDirectory {
		prefix := w.pn.Nodes[k].Path + "/"
		for end+1 < len(w.pn.Nodes) && (k == 0 || strings.HasPrefix(w.pn.Nodes[end+1].Path, prefix)) {
			end++
		}
	}
	w.s.add(problemKey{path: w.idx, node: end, after: 1}, w.pn.Path, p)
}

// fileWorker is one worker's state.
type fileWorker struct {
	s        *v2check
	h        meteredHash
	xattrBuf []byte
	buf      []byte
}

// check verifies one regular file as the options say and returns the
// number of bytes it read. This is the one place a file's contents are
// judged, for both modes.
func (w *fileWorker) check(j *fileJob) uint64 {
	fd, fst, ok := w.open(j)
	if !ok {
		return 0
	}
	defer unix.Close(fd)
	w.attributes(j, entryMeta{Path: j.full, Mode: nar.StatMode(fst), St: fst, DirFD: j.dir.fd, Name: j.name, FD: fd})
	switch w.s.opts.Files {
	case CheckVerity:
		w.measure(j, fd)
		return 0
	default:
		return w.hash(j, fd, fst)
	}
}

func (w *fileWorker) add(j *fileJob, p Problem) {
	if p.Path == "" {
		p.Path = j.full
	}
	w.s.add(j.key, j.storePath, p)
}

// open opens the regular file the walk listed, without following a
// symlink or blocking on a fifo, and checks with fstat that it is a
// regular file: the very entry lstat described when the walk had to lstat
// it, otherwise the one the directory listing typed as regular. (An lstat
// before the open would not make the open safer: the name can change
// between the two either way. The fstat of the opened file is what is
// judged.) On failure the problem is reported and ok is false.
func (w *fileWorker) open(j *fileJob) (fd int, fst *unix.Stat_t, ok bool) {
	var err error
	if j.haveStat {
		fd, fst, err = openListed(j.dir.fd, j.name, j.full, &j.st, 0)
	} else {
		fd, fst, err = openRegular(j.dir.fd, j.full, j.name)
	}
	switch {
	case err == nil:
		return fd, fst, true
	case errors.Is(err, unix.ENOENT):
		w.add(j, Problem{Kind: KindMissing, Expected: j.node.Type.String(), Actual: "nothing"})
	default:
		w.add(j, Problem{Kind: KindUnreadable, Detail: errText(err)})
	}
	return -1, nil, false
}

// openRegular opens name in dirfd, which must be a regular file: the
// entry the directory listing typed as one, not lstat'ed.
func openRegular(dirfd int, full, name string) (int, *unix.Stat_t, error) {
	return openListed(dirfd, name, full, nil, 0)
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

// errNotRegular says what a file the walk listed turned into.
var errNotRegular = errors.New("no longer a regular file")

// hashBufferSize is each worker's read size: large enough that system
// calls are few, small enough to stay in a core's cache while hashed.
const hashBufferSize = 256 << 10

// hash reads the opened file and compares the sha256 of its contents with
// the manifest's. It reads the size fstat gave: a file that ends before
// that changed while it was read. (Whether it changes after being read is
// a race no check can close; what is judged is the bytes read.)
func (w *fileWorker) hash(j *fileJob, fd int, fst *unix.Stat_t) uint64 {
	w.h.reset(w.s.counters)
	defer w.h.flush()
	if w.buf == nil {
		w.buf = make([]byte, hashBufferSize)
	}
	size := uint64(fst.Size)
	for w.h.n < size {
		want := w.buf
		if left := size - w.h.n; left < uint64(len(want)) {
			want = want[:left]
		}
		n, err := unix.Read(fd, want)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			w.add(j, Problem{Kind: KindUnreadable, Detail: errText(&fs.PathError{Op: "read", Path: j.full, Err: err})})
			return w.h.n
		}
		if n == 0 {
			w.add(j, Problem{Kind: KindUnreadable, Detail: fmt.Sprintf("%s: %v (%d of its %d bytes read)", j.full, nar.ErrChangedWhileReading, w.h.n, size)})
			return w.h.n
		}
		w.h.Write(want[:n])
	}
	var sum [sha256.Size]byte
	w.h.h.Sum(sum[:0])
	if sum != j.node.SHA256 {
		w.add(j, Problem{Kind: KindHash, Expected: "sha256:" + hex.EncodeToString(j.node.SHA256[:]), Actual: "sha256:" + hex.EncodeToString(sum[:])})
	}
	return w.h.n
}

// measure asks for the opened file's fs-verity digest instead of reading
// it.
func (w *fileWorker) measure(j *fileJob, fd int) {
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
// symlink or blocking, and checks with fstat that it is that entry; with a
// nil st, that it is a regular file.
func openListed(dirfd int, name, full string, st *unix.Stat_t, flags int) (int, *unix.Stat_t, error) {
	was := errNotRegular.Error()
	if st != nil {
		was = "no longer a " + nar.TypeName(nar.StatMode(st))
	}
	fd, err := openAt(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|flags)
	if err != nil {
		if err == unix.ELOOP || err == unix.ENOTDIR {
			return -1, nil, fmt.Errorf("%s: %w (%s)", full, nar.ErrChangedWhileReading, was)
		}
		return -1, nil, &fs.PathError{Op: "open", Path: full, Err: err}
	}
	fst := new(unix.Stat_t)
	if err := unix.Fstat(fd, fst); err != nil {
		unix.Close(fd)
		return -1, nil, &fs.PathError{Op: "fstat", Path: full, Err: err}
	}
	switch {
	case st == nil && fst.Mode&unix.S_IFMT != unix.S_IFREG:
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w (%s)", full, nar.ErrChangedWhileReading, was)
	case st != nil && (fst.Mode&unix.S_IFMT != st.Mode&unix.S_IFMT || fst.Dev != st.Dev || fst.Ino != st.Ino):
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w (another entry was opened than the one listed)", full, nar.ErrChangedWhileReading)
	}
	return fd, fst, nil
}

// dirEntry is one name of a directory listing, with the type the
// directory gives it (DT_UNKNOWN when the filesystem does not say).
type dirEntry struct {
	name string
	typ  uint8
}

// listDir returns a directory's entries, sorted byte-wise by name (NAR
// order), reading getdents64 records into buf.
func listDir(fd int, buf []byte) ([]dirEntry, error) {
	var out []dirEntry
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
		// d_type u8, d_name NUL-terminated.
		for off := 0; off < n; {
			const nameOff = 19
			if off+nameOff > n {
				return nil, errors.New("malformed directory entry")
			}
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen < nameOff || off+reclen > n {
				return nil, errors.New("malformed directory entry")
			}
			name := buf[off+nameOff : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				out = append(out, dirEntry{name: s, typ: buf[off+18]})
			}
			off += reclen
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].name < out[b].name })
	return out, nil
}
