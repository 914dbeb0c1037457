package closure

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
)

// RehashOptions configures Rehash.
type RehashOptions struct {
	StoreDir string // "" means /nix/store
	Root     string // prefix under which the store lives ("" for none)
	Jobs     int    // 0 means one per CPU
}

// Rehash computes the closure of paths without Nix's database: it hashes
// each path's NAR and scans that NAR for the hash parts of the other entries
// of the store directory (what Nix does when it registers a build output),
// following the references it finds. Paths may be store paths, files inside
// store paths, or symlinks to them (such as ./result).
func Rehash(ctx context.Context, paths []string, opts RehashOptions) ([]Entry, error) {
	storeDir := opts.StoreDir
	if storeDir == "" {
		storeDir = DefaultStoreDir
	}
	if err := ValidateStoreDir(storeDir); err != nil {
		return nil, err
	}
	onDiskStore := filepath.Join(orRoot(opts.Root), storeDir)
	candidates, err := storeHashParts(onDiskStore)
	if err != nil {
		return nil, err
	}
	var start []string
	for _, p := range paths {
		sp, err := toStorePath(storeDir, opts.Root, p)
		if err != nil {
			return nil, err
		}
		start = append(start, sp)
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}

	r := &rehasher{root: orRoot(opts.Root), storeDir: storeDir, candidates: candidates,
		seen: map[string]bool{}, sem: make(chan struct{}, jobs)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, p := range start {
		r.visit(ctx, cancel, p)
	}
	r.wg.Wait()
	if r.err != nil {
		return nil, r.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(r.entries, func(i, j int) bool { return r.entries[i].Path < r.entries[j].Path })
	return r.entries, nil
}

type rehasher struct {
	root, storeDir string
	candidates     map[string]string
	sem            chan struct{}
	wg             sync.WaitGroup

	mu      sync.Mutex
	seen    map[string]bool
	entries []Entry
	err     error
}

// visit hashes p once, in a goroutine bounded by sem, then visits the
// references it found.
func (r *rehasher) visit(ctx context.Context, cancel func(), p string) {
	r.mu.Lock()
	if r.seen[p] {
		r.mu.Unlock()
		return
	}
	r.seen[p] = true
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		e, refs, err := r.hash(p)
		<-r.sem
		r.mu.Lock()
		if err != nil && r.err == nil {
			r.err = err
			cancel()
		}
		if err == nil {
			r.entries = append(r.entries, e)
		}
		r.mu.Unlock()
		if err != nil {
			return
		}
		for _, ref := range refs {
			r.visit(ctx, cancel, ref)
		}
	}()
}

func (r *rehasher) hash(p string) (Entry, []string, error) {
	h := sha256.New()
	scan := newRefScanner(r.candidates)
	cw := &countWriter{}
	if err := nar.Dump(io.MultiWriter(h, scan, cw), filepath.Join(r.root, p)); err != nil {
		return Entry{}, nil, fmt.Errorf("hashing %s: %w", p, err)
	}
	e := Entry{Path: p, NarSize: cw.n}
	h.Sum(e.NarHash[:0])
	var refs []string
	for part := range scan.found {
		refs = append(refs, r.candidatePath(part))
	}
	sort.Strings(refs)
	return e, refs, nil
}

func (r *rehasher) candidatePath(hashPart string) string {
	return path.Join(r.storeDir, r.candidates[hashPart])
}

type countWriter struct{ n uint64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += uint64(len(p)); return len(p), nil }

func orRoot(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// toStorePath turns an argument into the store path that contains it.
func toStorePath(storeDir, root, p string) (string, error) {
	if ValidateStorePath(storeDir, p) == nil {
		return p, nil
	}
	resolved := p
	if root == "" {
		if abs, err := filepath.EvalSymlinks(p); err == nil {
			resolved = abs
		}
	}
	rest, ok := strings.CutPrefix(resolved, storeDir+"/")
	if !ok {
		return "", fmt.Errorf("%s is not in the store directory %s", p, storeDir)
	}
	top := path.Join(storeDir, strings.SplitN(rest, "/", 2)[0])
	if err := ValidateStorePath(storeDir, top); err != nil {
		return "", err
	}
	return top, nil
}

// storeHashParts lists the store directory's entries by hash part.
func storeHashParts(dir string) (map[string]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("reading store directory: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("reading store directory %s: %w", dir, err)
	}
	parts := map[string]string{}
	for _, n := range names {
		if validateBaseName(n) == nil {
			parts[n[:hashPartLen]] = n
		}
	}
	return parts, nil
}
