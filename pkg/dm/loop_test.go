package dm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Attaching needs root and a kernel with loop devices; the real kernel is
// the peer here.
func TestAttachLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("attaching loop devices needs root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no /dev/loop-control")
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096*3/16)
	path := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	backing, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer backing.Close()
	l, err := AttachLoop(backing)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(l.File())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("loop device reads %d bytes, want %d", len(got), len(data))
	}
	info, err := unix.IoctlLoopGetStatus64(int(l.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags&LO_FLAGS_READ_ONLY == 0 || info.Flags&LO_FLAGS_AUTOCLEAR == 0 {
		t.Errorf("flags %#x", info.Flags)
	}
	if _, err := l.File().WriteAt([]byte("x"), 0); err == nil {
		t.Error("loop device writable")
	}
	p := l.Path
	l.Close()
	// Autoclear detaches the device once its last user has gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = unix.IoctlLoopGetStatus64(int(f.Fd()))
		f.Close()
		if errors.Is(err, unix.ENXIO) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still attached after close: %v", p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
