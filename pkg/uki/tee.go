package uki

import "io"

// tee writes to the output and feeds the same bytes to the Authenticode
// hasher and the CheckSum. Hashing runs in its own goroutine, overlapping
// the copy, so building costs little more than copying the bytes. Each
// chunk is copied before it is handed over, since the caller reuses its
// buffer.
type tee struct {
	out    io.Writer
	sum    io.Writer
	ch     chan []byte
	done   chan struct{}
	free   chan []byte
	closed bool
}

func newTee(out, hash, sum io.Writer) *tee {
	t := &tee{out: out, sum: sum, ch: make(chan []byte, 4), done: make(chan struct{}), free: make(chan []byte, 6)}
	go func() {
		for b := range t.ch {
			hash.Write(b)
			select {
			case t.free <- b[:0]:
			default:
			}
		}
		close(t.done)
	}()
	return t
}

func (t *tee) Write(p []byte) (int, error) {
	var b []byte
	select {
	case b = <-t.free:
	default:
	}
	b = append(b, p...)
	t.ch <- b
	t.sum.Write(p)
	return t.out.Write(p)
}

// stop waits for the hasher to finish; it may be called more than once.
func (t *tee) stop() error {
	if !t.closed {
		t.closed = true
		close(t.ch)
		<-t.done
	}
	return nil
}
