package harness

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Errors a wait can end with; the returned error wraps one of them and
// carries the console log.
var (
	ErrExited      = errors.New("VM exited")
	ErrHardTimeout = errors.New("VM hit its hard timeout")
)

// maxLogInError bounds how much console text goes into an error message;
// Console.Log always has all of it.
const maxLogInError = 64 << 10

// Console is the guest's serial console as a stream of lines. Lines are
// cleaned of terminal escape sequences and carriage returns (OVMF draws its
// screens with them) before matching; the raw bytes are kept too.
type Console struct {
	mu      sync.Mutex
	raw     []byte
	lines   []string
	partial []byte
	cursor  int // lines before it were consumed by earlier waits
	changed chan struct{}
	ended   bool
	endErr  error // why the stream ended: nil is a clean exit
	copyTo  func([]byte)
}

func newConsole(copyTo func([]byte)) *Console {
	return &Console{changed: make(chan struct{}), copyTo: copyTo}
}

// Write takes console output from QEMU.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = append(c.raw, p...)
	for _, b := range p {
		if b == '\n' || b == '\r' {
			c.flushLine()
			continue
		}
		c.partial = append(c.partial, b)
	}
	if c.copyTo != nil {
		c.copyTo(p)
	}
	c.notify()
	return len(p), nil
}

func (c *Console) flushLine() {
	if line := cleanLine(c.partial); line != "" {
		c.lines = append(c.lines, line)
	}
	c.partial = c.partial[:0]
}

func (c *Console) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// end marks the stream finished (QEMU has exited); err says why.
func (c *Console) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLine()
	c.ended = true
	c.endErr = err
	c.notify()
}

// WaitFor returns the first line not yet consumed by an earlier wait that
// matches re, waiting for it until ctx is done or the VM exits.
func (c *Console) WaitFor(ctx context.Context, re *regexp.Regexp) (string, error) {
	_, line, err := c.WaitForAny(ctx, re)
	return line, err
}

// WaitForAny waits for a line matching any of res and says which matched
// (the first pattern in res order if several match that line). Lines up to
// the matching one are consumed, so consecutive waits see output in order.
func (c *Console) WaitForAny(ctx context.Context, res ...*regexp.Regexp) (int, string, error) {
	for {
		c.mu.Lock()
		for ; c.cursor < len(c.lines); c.cursor++ {
			for i, re := range res {
				if re.MatchString(c.lines[c.cursor]) {
					line := c.lines[c.cursor]
					c.cursor++
					c.mu.Unlock()
					return i, line, nil
				}
			}
		}
		ended, endErr, changed := c.ended, c.endErr, c.changed
		c.mu.Unlock()
		if ended {
			if endErr == nil {
				endErr = ErrExited
			}
			return -1, "", c.failure(fmt.Errorf("waiting for %s: %w", patterns(res), endErr))
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return -1, "", c.failure(fmt.Errorf("waiting for %s: %w", patterns(res), ctx.Err()))
		}
	}
}

// Log returns the whole console so far as cleaned lines.
func (c *Console) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.lines, "\n")
	if p := cleanLine(c.partial); p != "" {
		s += "\n" + p
	}
	return s
}

// Raw returns the console bytes exactly as QEMU wrote them.
func (c *Console) Raw() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.raw...)
}

// failure attaches the console log to err.
func (c *Console) failure(err error) error {
	log := c.Log()
	if len(log) > maxLogInError {
		log = "[...]" + log[len(log)-maxLogInError:]
	}
	return &WaitError{Err: err, Console: log}
}

// WaitError is a failed wait with the console log at that moment.
type WaitError struct {
	Err     error
	Console string
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%v\n--- serial console ---\n%s\n--- end of console ---", e.Err, e.Console)
}

func (e *WaitError) Unwrap() error { return e.Err }

func patterns(res []*regexp.Regexp) string {
	s := make([]string, len(res))
	for i, re := range res {
		s[i] = "/" + re.String() + "/"
	}
	return strings.Join(s, " or ")
}

// cleanLine drops ANSI escape sequences (CSI "ESC [ ... final" and
// two-byte "ESC x") and other control characters, then trims spaces.
func cleanLine(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x1b && i+1 < len(b) && b[i+1] == '[':
			i += 2
			for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
				i++
			}
		case c == 0x1b:
			i++
		case c == '\t' || c >= 0x20 && c != 0x7f:
			out = append(out, c)
		}
	}
	return strings.TrimSpace(string(out))
}
