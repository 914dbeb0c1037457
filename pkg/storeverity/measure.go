package storeverity

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

// hashBufSize is the read size for files hashed in full: memory stays flat
// whatever the file's size.
const hashBufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}

// errChanged: a file hashed in full changed while it was read.
var errChanged = errors.New("changed while it was read")

// measurer is the closure check's MeasureVerity for one run: the kernel's
// digest, or for files without fs-verity (when allowed) the digest of
// their contents, remembering their names. A fatal error (the filesystem
// has no fs-verity at all) is kept once and stops the run.
type measurer struct {
	hashUnenabled bool // hash files without fs-verity instead of failing them
	unsupported   bool // with hashUnenabled: a filesystem without fs-verity counts as files without it
	enable        bool // enable fs-verity where it is missing (Enable's second pass)
	stop          func()

	enabled atomic.Uint64
	mu      sync.Mutex
	hashed  []string
	fatal   error
}

func (m *measurer) measure(fd int) ([sha256.Size]byte, error) {
	d, err := fsverity.MeasureFd(fd)
	switch {
	case err == nil:
		return d, nil
	case m.enable && errors.Is(err, fsverity.ErrNotEnabled):
		switch err := fsverity.EnableFd(fd); {
		case err == nil:
			m.enabled.Add(1)
		case !errors.Is(err, fsverity.ErrAlreadyEnabled): // else another link to the inode, or another process, was first
			return d, m.fatalIf(err)
		}
		return fsverity.MeasureFd(fd)
	case m.hashUnenabled && (errors.Is(err, fsverity.ErrNotEnabled) || m.unsupported && errors.Is(err, fsverity.ErrUnsupported)):
		d, err := hashFd(fd)
		if err == nil {
			m.mu.Lock()
			m.hashed = append(m.hashed, fdName(fd))
			m.mu.Unlock()
		}
		return d, err
	}
	return d, m.fatalIf(err)
}

// fatalIf keeps err as the run's error when it is about the filesystem
// rather than the file (every other file would fail the same way), and
// stops the run.
func (m *measurer) fatalIf(err error) error {
	if errors.Is(err, fsverity.ErrUnsupported) || errors.Is(err, fsverity.ErrReadOnlyFS) {
		m.mu.Lock()
		if m.fatal == nil {
			m.fatal = err
		}
		m.mu.Unlock()
		m.stop()
	}
	return err
}

func (m *measurer) fatalErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fatal
}

// hashFd computes the fs-verity digest of the file's contents (pread, so
// the descriptor's offset is left alone), refusing a file whose size,
// mtime or ctime changed meanwhile.
func hashFd(fd int) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	var before, after unix.Stat_t
	if err := unix.Fstat(fd, &before); err != nil {
		return d, fmt.Errorf("fstat: %w", err)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var h fsverity.Hasher
	for off := int64(0); off < before.Size; {
		n, err := unix.Pread(fd, buf[:min(int64(len(buf)), before.Size-off)], off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			return d, errChanged // shorter than fstat said
		}
		if _, err := h.Write(buf[:n]); err != nil {
			return d, err
		}
		off += int64(n)
	}
	if err := unix.Fstat(fd, &after); err != nil {
		return d, fmt.Errorf("fstat: %w", err)
	}
	if after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim {
		return d, errChanged
	}
	return h.Sum()
}

// fdName names an open file for a report (the kernel's idea of its path).
func fdName(fd int) string {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink("/proc/self/fd/"+strconv.Itoa(fd), buf)
	if err != nil {
		return "file descriptor " + strconv.Itoa(fd)
	}
	return string(buf[:n])
}
