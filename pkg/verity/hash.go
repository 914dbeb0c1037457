package verity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkBytes is how much data one worker reads at a time: large enough for
// sequential I/O to stay efficient, small enough that memory is a few MiB
// whatever the image size.
const chunkBytes = 1 << 20

// levels holds a tree in memory: level i is g.Levels[i].Blocks hash blocks,
// zero padded, and root is the root hash.
type levels struct {
	blocks [][]byte
	root   [DigestSize]byte
}

// saltedHasher computes SHA-256(salt || block), reusing one state.
type saltedHasher struct {
	h    hash.Hash
	salt []byte
}

func newSaltedHasher(salt []byte) *saltedHasher {
	return &saltedHasher{h: sha256.New(), salt: salt}
}

// sum writes the digest of block into dst[:DigestSize].
func (s *saltedHasher) sum(dst, block []byte) {
	s.h.Reset()
	s.h.Write(s.salt)
	s.h.Write(block)
	s.h.Sum(dst[:0])
}

// maxWorkers bounds the goroutines (each with a chunk buffer) whatever the
// caller asks for.
const maxWorkers = 64

func workerCount(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return min(n, maxWorkers)
}

// computeLevels hashes the data device into a full tree in memory. Level 0
// is the costly part: workers take 1 MiB chunks of the data in turn, read
// them with ReadAt and write their digests into disjoint parts of level 0,
// so the order of completion does not matter and the result is the same
// bytes on every run.
func computeLevels(ctx context.Context, data io.ReaderAt, g *Geometry, salt []byte, workers int) (*levels, error) {
	workers = workerCount(workers)
	dbs := int64(g.DataBlockSize)
	hbs := int(g.HashBlockSize)
	t := &levels{blocks: make([][]byte, len(g.Levels))}
	for i, l := range g.Levels {
		t.blocks[i] = make([]byte, int(l.Blocks)*hbs)
	}

	if len(g.Levels) == 0 {
		// A single data block is its own root.
		buf := make([]byte, dbs)
		if err := readFull(data, buf, 0); err != nil {
			return nil, err
		}
		newSaltedHasher(salt).sum(t.root[:], buf)
		return t, nil
	}

	chunkBlocks := max(chunkBytes/dbs, 1)
	chunks := (int64(g.DataBlocks) + chunkBlocks - 1) / chunkBlocks
	level0 := t.blocks[0]
	err := parallel(ctx, workers, chunks, func() func(int64) error {
		buf := make([]byte, chunkBlocks*dbs)
		h := newSaltedHasher(salt)
		return func(c int64) error {
			first := c * chunkBlocks
			n := min(chunkBlocks, int64(g.DataBlocks)-first)
			b := buf[:n*dbs]
			if err := readFull(data, b, first*dbs); err != nil {
				return err
			}
			for i := int64(0); i < n; i++ {
				h.sum(level0[(first+i)*DigestSize:], b[i*dbs:(i+1)*dbs])
			}
			return nil
		}
	})
	if err != nil {
		return nil, err
	}

	// Upper levels are 1/128 of the one below each: hash them in parallel
	// too, block ranges per worker.
	for i := 1; i < len(g.Levels); i++ {
		below, here := t.blocks[i-1], t.blocks[i]
		n := int64(g.Levels[i-1].Blocks)
		err := parallel(ctx, workers, n, func() func(int64) error {
			h := newSaltedHasher(salt)
			return func(b int64) error {
				h.sum(here[b*DigestSize:], below[b*int64(hbs):(b+1)*int64(hbs)])
				return nil
			}
		})
		if err != nil {
			return nil, err
		}
	}
	newSaltedHasher(salt).sum(t.root[:], t.blocks[len(t.blocks)-1])
	return t, nil
}

// parallel runs job(0..n-1) on workers goroutines; each goroutine gets its
// own job function (and so its own buffers) from newJob. The first error
// stops the others.
func parallel(ctx context.Context, workers int, n int64, newJob func() func(int64) error) error {
	workers = int(min(int64(workers), n))
	if workers <= 0 {
		return nil
	}
	var (
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := newJob()
			for !stop.Load() {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = job(i)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// readFull reads len(b) bytes at off; running out of device is
// ErrDataTooSmall, not a silent short read.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: data ends at %d bytes, needed %d", ErrDataTooSmall, off+int64(n), off+int64(len(b)))
	}
	return fmt.Errorf("reading data at %d: %w", off+int64(n), err)
}
