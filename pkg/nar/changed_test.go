package nar

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// An entry replaced or changed between lstat and the end of its reading is
// an error, never a hang and never a NAR of a state the tree was not in
// (issue 8 §1b: a file swapped for a fifo hung; growth was not seen).
func TestEntryChangedAfterLstat(t *testing.T) {
	cases := []struct {
		name   string
		make   func(t *testing.T, p string) // the entry as lstat sees it
		change func(t *testing.T, p string) // what happens before it is opened
	}{
		{"file swapped for a fifo", writeFile("12345678"), func(t *testing.T, p string) { replace(t, p, func() error { return syscall.Mkfifo(p, 0o444) }) }},
		{"file swapped for a symlink", writeFile("x"), func(t *testing.T, p string) { replace(t, p, func() error { return os.Symlink("/etc/passwd", p) }) }},
		{"file swapped for another file", writeFile("abc"), func(t *testing.T, p string) {
			replace(t, p, func() error { return os.WriteFile(p, []byte("abd"), 0o444) })
		}},
		{"file grew", writeFile("abc"), func(t *testing.T, p string) { appendTo(t, p, "d") }},
		{"directory swapped for a fifo", makeDir, func(t *testing.T, p string) { replace(t, p, func() error { return syscall.Mkfifo(p, 0o444) }) }},
		{"directory swapped for a symlink to a directory", makeDir, func(t *testing.T, p string) { replace(t, p, func() error { return os.Symlink("/", p) }) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "e")
			c.make(t, p)
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			c.change(t, p)
			err := withinTimeout(t, func() error {
				buf := make([]byte, copyBufferSize)
				return (&Dumper{}).node(&tokenWriter{w: io.Discard}, unix.AT_FDCWD, p, p, &st, buf)
			})
			if !errors.Is(err, ErrChangedWhileReading) {
				t.Fatalf("err = %v, want ErrChangedWhileReading", err)
			}
		})
	}
}

// A file that grows or shrinks while it is read is seen: it is read to its
// end and compared with the size fstat gave when it was opened.
func TestFileChangedWhileRead(t *testing.T) {
	for _, c := range []struct {
		name  string
		delta int64 // size announced minus size on disk
	}{{"grew", -1}, {"shrank", +1}, {"grew past a buffer", -copyBufferSize - 1}} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(p, make([]byte, 2*copyBufferSize+3), 0o444); err != nil {
				t.Fatal(err)
			}
			fd, err := unix.Open(p, unix.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				t.Fatal(err)
			}
			st.Size += c.delta
			err = contents(&tokenWriter{w: io.Discard}, fd, p, &st, make([]byte, copyBufferSize), nil)
			if !errors.Is(err, ErrChangedWhileReading) {
				t.Fatalf("err = %v, want ErrChangedWhileReading", err)
			}
		})
	}
}

// A fifo in the tree is reported as such, without waiting for a writer.
func TestFifoDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o444); err != nil {
		t.Fatal(err)
	}
	err := withinTimeout(t, func() error { _, err := Hash(dir); return err })
	var ute *UnsupportedTypeError
	if !errors.As(err, &ute) {
		t.Fatalf("err = %v", err)
	}
}

func writeFile(content string) func(t *testing.T, p string) {
	return func(t *testing.T, p string) {
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
}

func makeDir(t *testing.T, p string) {
	if err := os.Mkdir(p, 0o555); err != nil {
		t.Fatal(err)
	}
}

// replace moves p away (so its inode number is not reused) and makes
// something else in its place.
func replace(t *testing.T, p string, make func() error) {
	t.Helper()
	if err := os.Rename(p, p+".old"); err != nil {
		t.Fatal(err)
	}
	if err := make(); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	os.Chmod(p, 0o644)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// withinTimeout runs f and fails the test if it has not returned in 10 s
// (a blocked open of a fifo would wait forever).
func withinTimeout(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("hung: still reading after 10 s")
		return nil
	}
}
