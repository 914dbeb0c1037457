// Package faultfs wraps an esp.FS to inject failures for crash tests: the
// k-th mutating operation fails (a write fails half-way, leaving half its
// bytes), and so does every operation after it, as if the machine had
// stopped there. It can also give the partition a capacity, failing writes
// beyond it with ENOSPC, for space tests on a host directory.
//
// For tests only; it trusts what it wraps.
package faultfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
)

// ErrInjected is the error of the failing operation and all after it.
var ErrInjected = errors.New("injected fault")

// FS is an esp.FS with faults.
type FS struct {
	Inner esp.FS
	// FailAt is the 1-based index of the mutating operation to fail; 0
	// never fails.
	FailAt int
	// Capacity, when positive, is the partition's size in bytes; Block is
	// its allocation unit (default 4096).
	Capacity, Block int64

	mu      sync.Mutex
	ops     int
	crashed bool
	// Log names each mutating operation, in order.
	Log []string
}

// Ops is the number of mutating operations attempted so far.
func (f *FS) Ops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops
}

// step counts a mutating operation and says whether it must fail.
func (f *FS) step(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed {
		return ErrInjected
	}
	f.ops++
	f.Log = append(f.Log, what)
	if f.FailAt > 0 && f.ops == f.FailAt {
		f.crashed = true
		return fmt.Errorf("%s: %w", what, ErrInjected)
	}
	return nil
}

func (f *FS) dead() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed {
		return ErrInjected
	}
	return nil
}

// Create implements esp.FS.
func (f *FS) Create(name string) (esp.File, error) {
	if err := f.step("create " + name); err != nil {
		return nil, err
	}
	fh, err := f.Inner.Create(name)
	if err != nil {
		return nil, err
	}
	return &file{File: fh, fs: f, name: name}, nil
}

// Open implements esp.FS.
func (f *FS) Open(name string) (esp.ReadFile, error) {
	if err := f.dead(); err != nil {
		return nil, err
	}
	return f.Inner.Open(name)
}

// Rename implements esp.FS.
func (f *FS) Rename(a, b string) error {
	if err := f.step("rename " + a + " " + b); err != nil {
		return err
	}
	return f.Inner.Rename(a, b)
}

// SyncDir implements esp.FS.
func (f *FS) SyncDir(dir string) error {
	if err := f.step("syncdir " + dir); err != nil {
		return err
	}
	return f.Inner.SyncDir(dir)
}

// Remove implements esp.FS.
func (f *FS) Remove(name string) error {
	if err := f.step("remove " + name); err != nil {
		return err
	}
	return f.Inner.Remove(name)
}

// Stat implements esp.FS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if err := f.dead(); err != nil {
		return nil, err
	}
	return f.Inner.Stat(name)
}

// ReadDir implements esp.FS.
func (f *FS) ReadDir(dir string) ([]string, error) {
	if err := f.dead(); err != nil {
		return nil, err
	}
	return f.Inner.ReadDir(dir)
}

// MkdirAll implements esp.FS.
func (f *FS) MkdirAll(dir string) error {
	if err := f.step("mkdir " + dir); err != nil {
		return err
	}
	return f.Inner.MkdirAll(dir)
}

// Space implements esp.FS: the inner file system's, or with a Capacity,
// what the files under the root leave of it.
func (f *FS) Space() (free, block int64, err error) {
	if err := f.dead(); err != nil {
		return 0, 0, err
	}
	if f.Capacity <= 0 {
		return f.Inner.Space()
	}
	used, err := f.used(".")
	if err != nil {
		return 0, 0, err
	}
	return max(f.Capacity-used, 0), f.block(), nil
}

func (f *FS) block() int64 {
	if f.Block > 0 {
		return f.Block
	}
	return 4096
}

// used sums the allocated size of the files under dir, one block per
// directory.
func (f *FS) used(dir string) (int64, error) {
	names, err := f.Inner.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	b := f.block()
	total := b
	for _, n := range names {
		p := path.Join(dir, n)
		fi, err := f.Inner.Stat(p)
		if err != nil {
			return 0, err
		}
		if fi.IsDir() {
			u, err := f.used(p)
			if err != nil {
				return 0, err
			}
			total += u
			continue
		}
		total += (fi.Size() + b - 1) / b * b
	}
	return total, nil
}

type file struct {
	esp.File
	fs      *FS
	name    string
	written int64
}

// Write fails half-way when it is the faulty step, and with ENOSPC when
// the capacity is exceeded.
func (w *file) Write(p []byte) (int, error) {
	if err := w.fs.step("write " + w.name); err != nil {
		if errors.Is(err, ErrInjected) && !w.fs.wasDeadBefore() {
			n, _ := w.File.Write(p[:len(p)/2])
			return n, err
		}
		return 0, err
	}
	if err := w.room(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := w.File.Write(p)
	w.written += int64(n)
	return n, err
}

// WriteAt patches bytes already written (a checksum, a signature size).
func (w *file) WriteAt(p []byte, off int64) (int, error) {
	if err := w.fs.step("writeat " + w.name); err != nil {
		return 0, err
	}
	return w.File.WriteAt(p, off)
}

// Sync implements esp.File.
func (w *file) Sync() error {
	if err := w.fs.step("sync " + w.name); err != nil {
		return err
	}
	return w.File.Sync()
}

// Close always closes the inner file, so a crashed run leaks no
// descriptor, but reports the crash.
func (w *file) Close() error {
	err := w.File.Close()
	if derr := w.fs.dead(); derr != nil {
		return derr
	}
	return err
}

func (w *file) room(n int64) error {
	if w.fs.Capacity <= 0 {
		return nil
	}
	free, _, err := w.fs.Space()
	if err != nil {
		return err
	}
	// Space counts what is already written to this file.
	if n > free {
		return fmt.Errorf("write %s: %w", w.name, unix.ENOSPC)
	}
	return nil
}

// wasDeadBefore reports whether the crash happened before the operation
// just counted (so this write is not the faulty one). The faulty step is
// always the last one logged.
func (f *FS) wasDeadBefore() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ops != f.FailAt
}
