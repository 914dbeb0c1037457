package esp

import (
	"bytes"
	"errors"
	"fmt"
	"path"
)

// Result is what Apply did.
type Result struct {
	// Written is the bytes written.
	Written int64
	// Record is Installed or Updated when the digest record was written
	// (Plan.Record), empty when it was right already.
	Record Status
}

// Apply carries out a prepared plan in the crash-safe order: leftover
// temporary files and, only if space requires it, owned files that are not
// kept go first; then each file to write (temporary name, sync, rename,
// directory sync), the Last ones after all others. The remaining removals
// are RemoveStale's. On an error it stops where it is, removing what it created in
// this run, so the partition is never fuller than before a failed run.
func (pr *Prepared) Apply() (res Result, err error) {
	f := pr.plan.FS
	var created []string
	defer func() {
		if err == nil {
			return
		}
		// Undo new files only: a repaired one replaced a damaged one.
		for _, c := range created {
			if f.Remove(c) == nil {
				f.SyncDir(path.Dir(c))
			}
		}
	}()
	if err := removeAll(f, pr.temps); err != nil {
		return res, err
	}
	if err := removeAll(f, pr.early); err != nil {
		return res, err
	}
	for _, last := range []bool{false, true} {
		if last && pr.plan.Record {
			// After the files it describes, before loader.conf.
			n, status, err := pr.writeRecord()
			res.Written += n
			res.Record = status
			if err != nil {
				return res, err
			}
			if status == Installed {
				created = append(created, DigestRecordPath)
			}
		}
		for _, o := range pr.Outcomes {
			if o.Status != Installed && o.Status != Repaired && o.Status != Updated {
				continue
			}
			w := pr.plan.Wants[o.Want]
			if w.Last != last {
				continue
			}
			n, err := writeFile(f, w)
			res.Written += n
			if err != nil {
				return res, err
			}
			if o.Status == Installed {
				created = append(created, w.Path)
			}
			if pr.plan.Record && w.Recorded && w.Content == nil {
				// Read back: the writer may have patched bytes in place
				// (WriteAt), so the stream it wrote is not the file. A
				// file that cannot be read back gets no line, and the
				// full check next time.
				if d, err := digestFile(f, w.Path); err == nil {
					pr.digests[DigestKey(w.Path)] = d
				}
			}
			// A damaged file under another name (another boot counter)
			// goes once its replacement is in place.
			if old, ok := pr.old[o.Want]; ok && old != w.Path {
				if err := removeAll(f, []string{old}); err != nil {
					return res, err
				}
			}
		}
	}
	created = nil // the new loader.conf may name them now
	return res, nil
}

// writeRecord writes the digest record of the files known intact now,
// when it differs from the one read, and says whether it was there.
func (pr *Prepared) writeRecord() (int64, Status, error) {
	data := DigestRecord(pr.digests).Marshal()
	if bytes.Equal(data, pr.recordOld) {
		return 0, "", nil
	}
	status := Updated
	if pr.recordOld == nil {
		status = Installed
	}
	n, err := writeFile(pr.plan.FS, Want{Path: DigestRecordPath, Content: data})
	return n, status, err
}

// RemoveStale removes the owned files no longer wanted. Call it after
// Apply has succeeded on every partition of the install, so that no
// loader.conf still names what it removes.
func (pr *Prepared) RemoveStale() error {
	var late []string
	early := map[string]bool{}
	for _, e := range pr.early {
		early[e] = true
	}
	for _, r := range pr.removes {
		if !early[r] {
			late = append(late, r)
		}
	}
	return removeAll(pr.plan.FS, late)
}

// writeFile writes w crash-safely and returns the bytes written.
func writeFile(f FS, w Want) (int64, error) {
	dir := path.Dir(w.Path)
	if err := f.MkdirAll(dir); err != nil {
		return 0, fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp := w.Path + TempSuffix
	fh, err := f.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("creating %s: %w", tmp, err)
	}
	cw := &countingFile{File: fh}
	err = fill(cw, w)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.Rename(tmp, w.Path)
	}
	if err != nil {
		if f.Remove(tmp) == nil {
			f.SyncDir(dir)
		}
		return cw.n, fmt.Errorf("writing %s: %w", w.Path, err)
	}
	if err := f.SyncDir(dir); err != nil {
		return cw.n, fmt.Errorf("syncing %s: %w", dir, err)
	}
	return cw.n, nil
}

func fill(w File, want Want) error {
	if want.Content != nil {
		_, err := w.Write(want.Content)
		return err
	}
	if want.Write == nil {
		return errors.New("nothing to write")
	}
	return want.Write(w)
}

// removeAll removes files and syncs each directory once.
func removeAll(f FS, names []string) error {
	dirs := map[string]bool{}
	var order []string
	for _, n := range names {
		if err := f.Remove(n); err != nil {
			return fmt.Errorf("removing %s: %w", n, err)
		}
		d := path.Dir(n)
		if !dirs[d] {
			dirs[d] = true
			order = append(order, d)
		}
	}
	for _, d := range order {
		if err := f.SyncDir(d); err != nil {
			return fmt.Errorf("syncing %s: %w", d, err)
		}
	}
	return nil
}

// countingFile counts the bytes written, WriteAt patches included.
type countingFile struct {
	File
	n int64
}

func (c *countingFile) Write(p []byte) (int, error) {
	n, err := c.File.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := c.File.WriteAt(p, off)
	c.n += int64(n)
	return n, err
}
