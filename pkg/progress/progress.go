// Package progress renders a long job's progress on a terminal or console:
// bytes and items done, rate and time left. On a terminal the line is
// redrawn in place; elsewhere (a log, a serial console read by a program) a
// new line is printed at a slower pace so the output stays readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Meter prints progress until Stop is called.
type Meter struct {
	w                      io.Writer
	terminal               bool
	totalBytes, totalItems uint64
	done                   func() (items, bytes uint64)
	start                  time.Time
	stop                   chan struct{}
	wg                     sync.WaitGroup
}

// IsTerminal reports whether w is a terminal (including /dev/console).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Start begins printing to w. done reports the items and bytes finished.
func Start(w io.Writer, totalItems, totalBytes uint64, done func() (items, bytes uint64)) *Meter {
	m := &Meter{w: w, terminal: IsTerminal(w), totalBytes: totalBytes, totalItems: totalItems,
		done: done, start: time.Now(), stop: make(chan struct{})}
	interval := 5 * time.Second
	if m.terminal {
		interval = 200 * time.Millisecond
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.print(false)
			case <-m.stop:
				m.print(true)
				return
			}
		}
	}()
	return m
}

// Stop prints the final state and ends the meter.
func (m *Meter) Stop() {
	close(m.stop)
	m.wg.Wait()
}

func (m *Meter) print(final bool) {
	items, bytes := m.done()
	elapsed := time.Since(m.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(bytes) / elapsed
	}
	line := fmt.Sprintf("%s / %s (%d%%), %d/%d paths, %s/s", Bytes(bytes), Bytes(m.totalBytes),
		percent(bytes, m.totalBytes), items, m.totalItems, Bytes(uint64(rate)))
	if !final && rate > 0 && bytes < m.totalBytes {
		left := time.Duration(float64(m.totalBytes-bytes) / rate * float64(time.Second))
		line += fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	switch {
	case m.terminal && final:
		fmt.Fprintf(m.w, "\r\033[K%s\n", line)
	case m.terminal:
		fmt.Fprintf(m.w, "\r\033[K%s", line)
	default:
		fmt.Fprintln(m.w, line)
	}
}

func percent(a, b uint64) uint64 {
	if b == 0 {
		return 100
	}
	return a * 100 / b
}

// Bytes formats a byte count with a binary unit.
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
