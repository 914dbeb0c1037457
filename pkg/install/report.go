package install

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
)

// Report is what a run did, for people (WriteText) and programs (JSON).
type Report struct {
	// Default is the file name of the entry loader.conf names.
	Default string `json:"default,omitempty"`
	// Files are the outcomes on each partition.
	Files []FileReport `json:"files"`
	// Skipped are generations that could not be read or named.
	Skipped []Skipped `json:"skipped,omitempty"`
	// FSVerity says, for each entry whose closure fs-verity was enabled
	// over in this run (closureCheck.fsverity, entries written), how many
	// files it was enabled on.
	FSVerity []VerityReport `json:"fsverity,omitempty"`
	// Warnings are things the administrator should know.
	Warnings []string `json:"warnings,omitempty"`
	// BytesWritten counts every byte written to the partitions.
	BytesWritten int64 `json:"bytesWritten"`
	// MissingBytes is how much more space all wanted entries needed.
	MissingBytes int64 `json:"missingBytes"`
	// Failed says the run stopped part-way: statuses say what was
	// planned.
	Failed bool `json:"failed,omitempty"`
}

// FileReport is one file's outcome.
type FileReport struct {
	Partition      string `json:"partition"`
	Path           string `json:"path"`
	Generation     int    `json:"generation,omitempty"`
	Specialisation string `json:"specialisation,omitempty"`
	Status         string `json:"status"`
	Reason         string `json:"reason,omitempty"`
}

// Skipped is a generation (or specialisation) not installed.
type Skipped struct {
	Generation     int    `json:"generation"`
	Specialisation string `json:"specialisation,omitempty"`
	Error          string `json:"error"`
}

// VerityReport is what enabling fs-verity did over one entry's closure.
type VerityReport struct {
	Generation     int    `json:"generation"`
	Specialisation string `json:"specialisation,omitempty"`
	// Enabled is how many files fs-verity was turned on for; the others
	// of Files (the closure's regular files) had it already.
	Enabled int `json:"enabled"`
	Files   int `json:"files"`
}

// addVerity reports the entries whose closure fs-verity was enabled over,
// in the order of entries.
func (r *Report) addVerity(entries []*entry) {
	for _, e := range entries {
		if v := e.verity; v != nil {
			r.FSVerity = append(r.FSVerity, VerityReport{Generation: e.gen.Number, Specialisation: e.specName, Enabled: v.enabled, Files: v.files})
		}
	}
}

func (r *Report) add(dir string, pr *esp.Prepared, entries []*entry) {
	byName := map[string]*entry{}
	for _, e := range entries {
		byName[esp.EntryID(e.name)] = e
	}
	for _, o := range pr.Outcomes {
		fr := FileReport{Partition: dir, Path: o.Path, Status: string(o.Status), Reason: o.Reason}
		if e, ok := byName[esp.EntryID(path.Base(o.Path))]; ok {
			fr.Generation, fr.Specialisation = e.gen.Number, e.specName
		} else if n, spec, ok := esp.ParseEntryName(path.Base(o.Path)); ok {
			fr.Generation, fr.Specialisation = n, spec
		}
		r.Files = append(r.Files, fr)
	}
	r.MissingBytes += pr.Missing
}

// addRecord reports the partition's digest record when Apply wrote it
// (status Installed or Updated), after the files it describes.
func (r *Report) addRecord(dir string, status esp.Status) {
	if status != "" {
		r.Files = append(r.Files, FileReport{Partition: dir, Path: esp.DigestRecordPath, Status: string(status)})
	}
}

func (r *Report) markFailed() { r.Failed = true }

// Changed says whether the run wrote or removed anything.
func (r *Report) Changed() bool {
	for _, f := range r.Files {
		switch esp.Status(f.Status) {
		case esp.Installed, esp.Repaired, esp.Updated, esp.Removed:
			return true
		}
	}
	return r.BytesWritten > 0
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		*Report
		Changed bool `json:"changed"`
	}{r, r.Changed()}
	if out.Files == nil {
		out.Files = []FileReport{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText writes one line per file and skipped generation, then a
// summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "%s: skipped: %s\n", subject(s.Generation, s.Specialisation, ""), s.Error)
	}
	counts := map[esp.Status]int{}
	for _, f := range r.sorted() {
		counts[esp.Status(f.Status)]++
		line := fmt.Sprintf("%s: %s %s", subject(f.Generation, f.Specialisation, f.Path), f.Status, path.Join(f.Partition, f.Path))
		if f.Reason != "" {
			line += " (" + f.Reason + ")"
		}
		b.WriteString(line + "\n")
	}
	for _, v := range r.FSVerity {
		fmt.Fprintf(&b, "%s: fs-verity enabled on %d files (%d of the closure's %d regular files had it already)\n",
			subject(v.Generation, v.Specialisation, ""), v.Enabled, v.Files-v.Enabled, v.Files)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	switch {
	case r.Failed:
		fmt.Fprintf(&b, "install failed part-way; %d bytes written\n", r.BytesWritten)
	case !r.Changed():
		fmt.Fprintf(&b, "nothing to do: every file is in place and intact (0 bytes written)\n")
	default:
		var parts []string
		for _, s := range []esp.Status{esp.Installed, esp.Updated, esp.Repaired, esp.Unchanged, esp.LeftOut, esp.Failed, esp.Removed} {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		fmt.Fprintf(&b, "%s; %d bytes written; default %s\n", strings.Join(parts, ", "), r.BytesWritten, r.Default)
	}
	if r.MissingBytes > 0 {
		fmt.Fprintf(&b, "not enough space for every generation: %d more bytes needed\n", r.MissingBytes)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sorted orders the files for reading: per partition, generations newest
// first (each before its specialisations), then systemd-boot and
// loader.conf.
func (r *Report) sorted() []FileReport {
	fs := append([]FileReport(nil), r.Files...)
	rank := func(f FileReport) int {
		if f.Generation > 0 {
			return -f.Generation
		}
		return 0
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		return a.Specialisation < b.Specialisation
	})
	return fs
}

func subject(gen int, spec, p string) string {
	switch {
	case gen > 0 && spec != "":
		return fmt.Sprintf("generation %d (specialisation %s)", gen, spec)
	case gen > 0:
		return fmt.Sprintf("generation %d", gen)
	case p == esp.LoaderConfPath:
		return "loader.conf"
	case p == esp.DigestRecordPath:
		return "digests"
	default:
		return "systemd-boot"
	}
}
