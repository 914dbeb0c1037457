package closure

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
	"golang.org/x/sys/unix"
)

// ErrNarMismatch reports a store path whose contents here do not hash to
// the NAR hash or size the closure's source (Nix's database) gives for it.
var ErrNarMismatch = errors.New("store contents do not reproduce the NAR hash")

// RecordOptions configures RecordV2.
type RecordOptions struct {
	Root string // directory the store lives under ("" or "/" for none), opened as Check opens it
	Jobs int    // parallel workers; 0 means one per CPU
}

// RecordV2 reads every store path of m under opts.Root and records its
// entries for a version 2 manifest: each file's sha256 and fs-verity
// digest are computed from the very bytes that go through the NAR hash, in
// one read, and the NAR hash and size must equal m's (which come from Nix's
// database, or from Rehash), or RecordV2 fails with ErrNarMismatch: the
// per-file data is trusted only as far as it reproduces Nix's hash. The
// blocks come in m's order, ready for WriteManifestV2.
func RecordV2(ctx context.Context, m *Manifest, opts RecordOptions) ([]V2Block, error) {
	storeFD, jobs, err := openForWorkers(opts.Root, m.StoreDir, opts.Jobs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(storeFD)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	blocks := make([]V2Block, len(m.Entries))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	work := make(chan int)
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := recorder{cur: -1}
			for i := range work {
				blk, err := r.record(storeFD, m.StoreDir, m.Entries[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				blocks[i] = blk
			}
		}()
	}
feed:
	for i := range m.Entries {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return blocks, nil
}

// recorder is one worker's state: the hashes of the file being read.
type recorder struct {
	verity fsverity.Hasher
	nodes  []Node
	cur    int // index of the regular file whose contents are being hashed, or -1
}

func (r *recorder) record(storeFD int, storeDir string, e Entry) (V2Block, error) {
	sha := sha256.New()
	both := io.MultiWriter(sha, &r.verity)
	r.nodes, r.cur = r.nodes[:0], -1
	var finishErr error
	finish := func() {
		if r.cur < 0 {
			return
		}
		n := &r.nodes[r.cur]
		sha.Sum(n.SHA256[:0])
		v, err := r.verity.Sum()
		if err != nil && finishErr == nil {
			finishErr = err
		}
		n.Verity = v
		r.cur = -1
	}
	d := nar.Dumper{
		Visit: func(ne *nar.Entry) error {
			finish()
			rel := "."
			if ne.Path != e.Path {
				rel = strings.TrimPrefix(ne.Path, e.Path+"/")
			}
			n := Node{Path: rel}
			mode := ne.Info.Mode()
			switch {
			case mode.IsDir():
				n.Type = NodeDirectory
			case mode.IsRegular():
				n.Type, n.Size, n.Executable = NodeRegular, uint64(ne.Info.Size()), mode&0o100 != 0
			case mode&fs.ModeSymlink != 0:
				n.Type, n.Target = NodeSymlink, ne.Target
			default:
				return nil // the dump fails with an UnsupportedTypeError
			}
			r.nodes = append(r.nodes, n)
			return nil
		},
		Contents: func(*nar.Entry) io.Writer {
			r.cur = len(r.nodes) - 1
			sha.Reset()
			r.verity.Reset()
			return both
		},
	}
	h := sha256.New()
	cw := &countWriter{}
	err := d.DumpAt(io.MultiWriter(h, cw), storeFD, path.Base(e.Path), e.Path)
	finish()
	if err == nil {
		err = finishErr
	}
	if err != nil {
		return V2Block{}, fmt.Errorf("hashing %s: %w", e.Path, err)
	}
	var got [sha256.Size]byte
	h.Sum(got[:0])
	if got != e.NarHash || cw.n != e.NarSize {
		return V2Block{}, fmt.Errorf("%w: %s hashes to NAR %s (%d bytes) here, the closure's source has %s (%d bytes): refusing to write a manifest",
			ErrNarMismatch, e.Path, nixHash(got), cw.n, nixHash(e.NarHash), e.NarSize)
	}
	pn := PathNodes{Entry: e, Nodes: r.nodes}
	return EncodeV2Block(storeDir, &pn)
}
