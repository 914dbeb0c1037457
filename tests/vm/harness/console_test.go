package harness

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCleanLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"  spaced \t", "spaced"},
		{"\x1b[2J\x1b[01;01Hscreen", "screen"},
		{"\x1b[0m\x1b[37m\x1b[40mBdsDxe: x\x1b[0m", "BdsDxe: x"},
		{"a\x1bcb", "ab"},
		{"bell\x07 del\x7f", "bell del"},
		{"cut\x1b[", "cut"},
	}
	for _, tt := range tests {
		if got := cleanLine([]byte(tt.in)); got != tt.want {
			t.Errorf("cleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestConsoleWaits(t *testing.T) {
	c := newConsole(nil)
	// Output split at awkward places, CR LF line ends, an escape sequence
	// across writes, and a line that arrives before anyone waits.
	for _, chunk := range []string{"first li", "ne\r\n\x1b[0", "mmarker one\r\nmarker two\n", "tail without newline"} {
		c.Write([]byte(chunk))
	}
	ctx := context.Background()
	marker := regexp.MustCompile(`^marker`)
	tests := []struct {
		res  []*regexp.Regexp
		idx  int
		line string
	}{
		{[]*regexp.Regexp{marker}, 0, "marker one"},
		{[]*regexp.Regexp{regexp.MustCompile(`first`), marker}, 1, "marker two"},
	}
	for _, tt := range tests {
		i, line, err := c.WaitForAny(ctx, tt.res...)
		if err != nil || i != tt.idx || line != tt.line {
			t.Errorf("WaitForAny = %d, %q, %v; want %d, %q", i, line, err, tt.idx, tt.line)
		}
	}
	// "first line" was consumed by the first wait.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.WaitFor(short, regexp.MustCompile(`first`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("consumed line matched again: %v", err)
	}
	// Output arriving while waiting.
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("\nlate line\n"))
	}()
	if line, err := c.WaitFor(ctx, regexp.MustCompile(`late`)); err != nil || line != "late line" {
		t.Errorf("late line: %q, %v", line, err)
	}
	// The end of the stream fails waits with the log attached; a partial
	// last line still counts.
	c.Write([]byte("last words"))
	c.end(ErrHardTimeout)
	if line, err := c.WaitFor(ctx, regexp.MustCompile(`^last words$`)); err != nil || line != "last words" {
		t.Errorf("partial line at exit: %q, %v", line, err)
	}
	_, err := c.WaitFor(ctx, regexp.MustCompile(`never`))
	var we *WaitError
	if !errors.Is(err, ErrHardTimeout) || !errors.As(err, &we) || !strings.Contains(we.Console, "marker two") {
		t.Errorf("wait after end: %v", err)
	}
	if want := "first line\nmarker one\nmarker two\ntail without newline\nlate line\nlast words"; c.Log() != want {
		t.Errorf("Log() = %q, want %q", c.Log(), want)
	}
}
