package esp

import (
	"bytes"
	"fmt"
	"io"
)

// check says whether the file found at name is w, intact.
func check(f FS, name string, w Want) error {
	fi, err := f.Stat(name)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file")
	}
	r, err := f.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	switch {
	case w.Content != nil:
		if fi.Size() != int64(len(w.Content)) {
			return fmt.Errorf("size %d, want %d", fi.Size(), len(w.Content))
		}
		got, err := io.ReadAll(io.LimitReader(r, int64(len(w.Content))+1))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, w.Content) {
			return fmt.Errorf("contents differ")
		}
		return nil
	case w.Check != nil:
		return w.Check(r, fi.Size())
	default:
		if fi.Size() != w.Size {
			return fmt.Errorf("size %d, want %d", fi.Size(), w.Size)
		}
		return nil
	}
}
