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

// checkRecorded is check for a Recorded file, with the digest record's
// help: a file whose digest and size are the record's is intact without
// w.Check; any other gets w.Check, so a stale or missing line costs the
// full check, never a rewrite. It returns the file's digest when the file
// is intact (for the new record).
func checkRecorded(f FS, name string, w Want, rec DigestRecord) (*Digest, error) {
	d, err := digestFile(f, name)
	if err != nil {
		return nil, check(f, name, w) // it says what is wrong
	}
	if r, ok := rec[DigestKey(w.Path)]; ok && r == d {
		return &d, nil
	}
	if err := check(f, name, w); err != nil {
		return nil, err
	}
	return &d, nil
}
