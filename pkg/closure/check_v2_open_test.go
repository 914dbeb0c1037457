package closure

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/nar"
	"golang.org/x/sys/unix"
)

// The walk hands a file the directory listing typed as regular to a worker
// without an lstat; whatever the name is by the time the worker opens it,
// only a regular file is read.
func TestOpenRegularJudgesWhatItOpened(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)

	fd, fst, err := openRegular(dirfd, dir+"/file", "file")
	if err != nil {
		t.Fatalf("regular file: %v", err)
	}
	unix.Close(fd)
	if fst.Size != 1 {
		t.Errorf("fstat size %d, want 1", fst.Size)
	}
	for _, name := range []string{"link", "dir", "fifo"} {
		if _, _, err := openRegular(dirfd, dir+"/"+name, name); !errors.Is(err, nar.ErrChangedWhileReading) {
			t.Errorf("%s: got %v, want ErrChangedWhileReading", name, err)
		}
	}
	if _, _, err := openRegular(dirfd, dir+"/gone", "gone"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing: got %v, want ENOENT", err)
	}
}
