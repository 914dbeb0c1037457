package storeverity

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

// probeLimit bounds the entries Probe looks at for a regular file.
const probeLimit = 4096

// errProbeDone stops Probe's walk at the first regular file.
var errProbeDone = errors.New("found")

// Probe says cheaply, before a closure is hashed, whether Enable could
// work on the filesystem holding dir (a store path): it measures the first
// regular file under dir (symlinks not followed, at most probeLimit
// entries looked at). A filesystem without fs-verity gives an error
// wrapping fsverity.ErrUnsupported, one mounted read-only
// fsverity.ErrReadOnlyFS. When dir holds no regular file within the limit
// there is nothing to tell and Probe returns nil: Enable finds out itself.
func Probe(dir string) error {
	var file string
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if seen++; seen > probeLimit {
			return errProbeDone
		}
		if d.Type().IsRegular() {
			file = p
			return errProbeDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errProbeDone) {
		return err
	}
	if file == "" {
		return nil
	}
	f, err := os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("%s: statfs: %w", file, err)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return fmt.Errorf("%s: %w", file, fsverity.ErrReadOnlyFS)
	}
	switch _, err := fsverity.Measure(f); {
	case err == nil, errors.Is(err, fsverity.ErrNotEnabled), errors.Is(err, fsverity.ErrAlgorithm):
		return nil // the filesystem has fs-verity
	default:
		return fmt.Errorf("%s: %w", file, err)
	}
}
