// Package atomicfile writes files so that readers see either the old
// content or the complete new content, never a partial file: the data goes to
// a temporary file in the same directory, which is synced and renamed over the
// destination, and the directory is synced after the rename.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates path with the given permissions from what fill writes. When
// fill fails nothing is left at path and the temporary file is removed.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	if err := fill(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	return finish(tmp, path, perm)
}

// TempBeside creates an empty temporary file in path's directory for
// another program to write (xorriso, say), to be put in place by Commit.
func TempBeside(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return "", fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return name, nil
}

// Commit puts tmp, a finished file in path's directory (from TempBeside),
// in place as Write does: synced, given perm, renamed over path, the
// directory synced. On error tmp is removed and path is left as it was.
func Commit(tmp, path string, perm os.FileMode) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("opening %s: %w", tmp, err)
	}
	return finish(f, path, perm)
}

func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// finish syncs, closes and renames tmp over path, then syncs the
// directory; on error it removes tmp.
func finish(tmp *os.File, path string, perm os.FileMode) (err error) {
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("setting mode of %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming into %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// WriteFile is Write for data already in memory.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes the rename durable; some filesystems (vfat) refuse to sync a
// directory, which is not an error worth failing a finished write for.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
