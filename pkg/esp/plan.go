package esp

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
)

// TempSuffix ends the name of every temporary file this package writes;
// a file so named is a leftover of an interrupted run and is removed by
// the next one.
const TempSuffix = ".nix-uki-tmp"

// Errors of Prepare.
var (
	// ErrNoSpace: even the required files do not fit.
	ErrNoSpace = errors.New("not enough space")
	// ErrCannotMake: a required file's Measure failed.
	ErrCannotMake = errors.New("cannot be made")
)

// Want is a file the installer wants on the partition.
type Want struct {
	// Path is where it goes. A file whose name differs only by a boot
	// counter ("+LEFT" or "+LEFT-DONE" before the extension, which
	// systemd-boot renames) counts as this one.
	Path string
	// Size is the file's size, or an upper bound when Write streams it.
	Size int64
	// Measure, when set, gives Size; it is called only for a file that
	// must be written (so an unchanged entry is never composed). Its
	// error makes the file Failed, or the whole plan fail if Required.
	Measure func() (int64, error)
	// Required files are installed or nothing is (the default entry,
	// systemd-boot, loader.conf). The others go in the order given, and
	// the first that does not fit leaves itself and all after it out.
	Required bool
	// Last files are written after all others (loader.conf).
	Last bool
	// Content is the file's bytes, for small files; an existing file is
	// intact when it holds exactly these.
	Content []byte
	// Write streams the file when Content is nil.
	Write func(w File) error
	// Check says whether an existing file, of the given size, is intact
	// when Content is nil; a nil Check accepts any file of exactly Size.
	Check func(r ReadFile, size int64) error
	// Recorded puts the file in the partition's digest record
	// (Plan.Record), whose word then spares Check: set it only when Path
	// names the contents (a UKI's name carries its recipe's hash), so
	// that a file at Path as this tool wrote it is the one wanted now. A
	// file whose wanted contents change under one name (systemd-boot's
	// copies, when systemd-boot or the certificate changes) is checked
	// in full at every run. Ignored for files with Content.
	Recorded bool
}

// Plan is what one partition should hold.
type Plan struct {
	FS    FS
	Wants []Want
	// Dirs are the directories scanned for owned files (and leftover
	// temporary files).
	Dirs []string
	// Owned says whether a file in Dirs is this tool's to remove.
	Owned func(path string) bool
	// Keep protects owned files from removal (the booted system's entry,
	// the current default).
	Keep func(path string) bool
	// CurrentDefaults are entry ids loader.conf names now (on any ESP);
	// they are not removed to make room before the new loader.conf is
	// written. This partition's own loader.conf is read as well.
	CurrentDefaults []string
	// NoRemove turns removal off for this run (a generation failed to
	// read: the entry it would have kept cannot be known).
	NoRemove bool
	// Record keeps the partition's digest record (DigestRecordPath): a
	// Recorded file whose XXH64 digest and size are the record's is kept
	// without its Check; Apply rewrites the record when it changes.
	Record bool
}

// Status is what happened, or will happen, to one file.
type Status string

// Statuses.
const (
	Unchanged Status = "unchanged"
	Installed Status = "installed" // written: it was missing
	Repaired  Status = "repaired"  // written: the file there was damaged
	Updated   Status = "updated"   // written: the file there had other contents (loader.conf)
	LeftOut   Status = "left out"  // wanted, but does not fit
	Failed    Status = "failed"    // wanted, but could not be made (Measure)
	Removed   Status = "removed"   // owned and no longer wanted
)

// Outcome is one file's status. Path is the file's name on the partition
// (for an unchanged file, the name found there).
type Outcome struct {
	Path   string
	Want   int // index in Plan.Wants, -1 for a removed file
	Status Status
	Reason string // why it is damaged or left out
}

// Prepared is a checked plan, ready to apply.
type Prepared struct {
	plan     Plan
	Outcomes []Outcome
	// Missing is how many more bytes all wanted files would have needed.
	Missing int64
	// Needed is the bytes the files to be written take.
	Needed  int64
	temps   []string
	old     map[int]string // want index -> damaged file to replace
	removes []string       // owned files to remove after the Last files
	early   []string       // those of removes to remove before writing

	// The digest record (Plan.Record): the bytes read (nil: none there),
	// and the digests of the Recorded files known intact, by key.
	recordOld []byte
	digests   map[string]Digest
	// recordStale: the record must be rewritten although no file is
	// written.
	recordStale bool
}

// Prepare scans the partition and decides; it changes nothing. It fails
// with ErrNoSpace when the required files do not fit.
func Prepare(p Plan) (*Prepared, error) {
	pr := &Prepared{plan: p, old: map[int]string{}}
	existing := map[string]string{} // counter-free path -> path
	var owned []string
	dirs := p.Dirs
	var record DigestRecord
	if p.Record {
		pr.digests = map[string]Digest{}
		pr.recordOld, record = readDigestRecord(p.FS)
		// Where its temporary file would be left.
		if d := path.Dir(DigestRecordPath); !slices.Contains(dirs, d) {
			dirs = append(slices.Clone(dirs), d)
		}
	}
	for _, dir := range dirs {
		names, err := p.FS.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", dir, err)
		}
		sort.Strings(names)
		for _, n := range names {
			full := path.Join(dir, n)
			switch {
			case strings.HasSuffix(n, TempSuffix):
				pr.temps = append(pr.temps, full)
			default:
				existing[strings.ToLower(StripCounter(full))] = full
				if p.Owned != nil && p.Owned(full) {
					owned = append(owned, full)
				}
			}
		}
	}
	wanted := map[string]bool{}
	type pending struct {
		i      int
		reason string
	}
	var toWrite []pending
	// Find each wanted file, then check the ones found in parallel:
	// checking a UKI hashes all of it, and a no-op run is mostly that.
	found := make([]string, len(p.Wants))
	for i, w := range p.Wants {
		key := strings.ToLower(StripCounter(w.Path))
		wanted[key] = true
		if f, ok := existing[key]; ok {
			found[i] = f
		} else if _, err := p.FS.Stat(w.Path); err == nil {
			// Not in a scanned directory: looked up directly.
			found[i] = w.Path
		}
	}
	checks := make([]error, len(p.Wants))
	sums := make([]*Digest, len(p.Wants))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range p.Wants {
		if found[i] == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if p.Record && p.Wants[i].Recorded && p.Wants[i].Content == nil {
				sums[i], checks[i] = checkRecorded(p.FS, found[i], p.Wants[i], record)
				return
			}
			checks[i] = check(p.FS, found[i], p.Wants[i])
		}()
	}
	wg.Wait()
	for i := range p.Wants {
		switch {
		case found[i] == "":
			toWrite = append(toWrite, pending{i, ""})
		case checks[i] != nil:
			pr.old[i] = found[i]
			toWrite = append(toWrite, pending{i, checks[i].Error()})
		default:
			pr.Outcomes = append(pr.Outcomes, Outcome{Path: found[i], Want: i, Status: Unchanged})
			if sums[i] != nil {
				pr.digests[DigestKey(p.Wants[i].Path)] = *sums[i]
			}
		}
	}
	// Size the files to write; one that cannot be made keeps every owned
	// file (the entry it replaces may be the only one of its generation).
	failed := map[int]bool{}
	for _, t := range toWrite {
		w := &p.Wants[t.i]
		if w.Measure == nil {
			continue
		}
		size, err := w.Measure()
		if err != nil {
			if w.Required {
				return nil, fmt.Errorf("%s %w: %w", w.Path, ErrCannotMake, err)
			}
			failed[t.i] = true
			pr.Outcomes = append(pr.Outcomes, Outcome{Path: w.Path, Want: t.i, Status: Failed, Reason: err.Error()})
			continue
		}
		w.Size = size
	}
	if len(failed) > 0 {
		p.NoRemove = true
		pr.plan.NoRemove = true
	}
	var removable []string
	var freeable int64
	defaults := map[string]bool{}
	for _, d := range p.CurrentDefaults {
		defaults[d] = true
	}
	if _, _, d, _ := ReadLoaderConf(p.FS); d != "" {
		defaults[d] = true
	}
	free, block, err := p.FS.Space()
	if err != nil {
		return nil, fmt.Errorf("free space: %w", err)
	}
	for _, t := range pr.temps {
		freeable += allocated(p.FS, t, block)
	}
	if !p.NoRemove {
		for _, o := range owned {
			if wanted[strings.ToLower(StripCounter(o))] || (p.Keep != nil && p.Keep(o)) {
				continue
			}
			removable = append(removable, o)
			if !defaults[EntryID(path.Base(o))] {
				freeable += allocated(p.FS, o, block)
			}
		}
	}
	// Required files first, then the others in the caller's order.
	sort.SliceStable(toWrite, func(a, b int) bool {
		return p.Wants[toWrite[a].i].Required && !p.Wants[toWrite[b].i].Required
	})
	budget := free + freeable
	var need int64
	if p.Record {
		// The record, rewritten when anything is written or it is not
		// right; its lines are bounded by the wanted files.
		pr.recordStale = !bytes.Equal(DigestRecord(pr.digests).Marshal(), pr.recordOld)
		if pr.recordStale || len(toWrite) > len(failed) {
			need += roundUp(recordBound(p.Wants), block) + block
		}
	}
	full := false
	for _, t := range toWrite {
		w := p.Wants[t.i]
		if failed[t.i] {
			continue
		}
		n := roundUp(w.Size, block) + block // and a directory entry's cluster
		status := Installed
		if _, ok := pr.old[t.i]; ok {
			status = Repaired
			if w.Content != nil {
				status = Updated
			}
		}
		if full || need+n > budget {
			if w.Required {
				short := need + n - budget
				return nil, fmt.Errorf("%w: %s needs %d bytes, %d more than are free", ErrNoSpace, w.Path, n, short)
			}
			full = true
			pr.Missing += n
			pr.Outcomes = append(pr.Outcomes, Outcome{Path: w.Path, Want: t.i, Status: LeftOut, Reason: "no space"})
			continue
		}
		need += n
		pr.Outcomes = append(pr.Outcomes, Outcome{Path: w.Path, Want: t.i, Status: status, Reason: t.reason})
	}
	pr.Needed = need
	if pr.Missing > 0 {
		pr.Missing -= budget - need
		if pr.Missing < 0 {
			pr.Missing = 0
		}
	}
	// Damaged files of left-out entries are not worth keeping either.
	for _, o := range pr.Outcomes {
		if old, ok := pr.old[o.Want]; ok && o.Status == LeftOut && !p.NoRemove && p.Owned != nil && p.Owned(old) {
			removable = append(removable, old)
		}
	}
	pr.removes = removable
	// What must go before writing, so the new files fit: removable files
	// in order (the caller's names sort oldest first) until they do, never
	// the current loader.conf's default, which stays until the new
	// loader.conf is in place.
	have := free
	for _, t := range pr.temps {
		have += allocated(p.FS, t, block)
	}
	for _, r := range removable {
		if have >= need {
			break
		}
		if defaults[EntryID(path.Base(r))] {
			continue
		}
		pr.early = append(pr.early, r)
		have += allocated(p.FS, r, block)
	}
	for _, r := range removable {
		pr.Outcomes = append(pr.Outcomes, Outcome{Path: r, Want: -1, Status: Removed})
	}
	return pr, nil
}

// Changes reports whether applying the plan writes or removes anything.
func (pr *Prepared) Changes() bool {
	if len(pr.temps) > 0 || pr.recordStale {
		return true
	}
	for _, o := range pr.Outcomes {
		if o.Status == Installed || o.Status == Repaired || o.Status == Updated || o.Status == Removed {
			return true
		}
	}
	return false
}

func roundUp(n, block int64) int64 {
	if block <= 0 {
		return n
	}
	return (n + block - 1) / block * block
}

func allocated(f FS, name string, block int64) int64 {
	fi, err := f.Stat(name)
	if err != nil {
		return 0
	}
	return roundUp(fi.Size(), block)
}

// StripCounter removes a systemd-boot boot counter ("+3" or "+2-1") from
// before a name's extension.
func StripCounter(name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	i := strings.LastIndexByte(stem, '+')
	if i < 0 || i < strings.LastIndexByte(stem, '/') {
		return name
	}
	c := stem[i+1:]
	left, done, hasDone := strings.Cut(c, "-")
	if !digits(left) || (hasDone && !digits(done)) {
		return name
	}
	return stem[:i] + ext
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
