package sbat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed is returned (wrapped) for an SBAT line that does not have six
// non-empty fields or whose generation is not a positive number.
var ErrMalformed = errors.New("malformed SBAT")

// Entry is one SBAT line.
type Entry struct {
	Component  string
	Generation string
	Vendor     string
	Package    string
	Version    string
	URL        string
}

func (e Entry) String() string {
	return strings.Join([]string{e.Component, e.Generation, e.Vendor, e.Package, e.Version, e.URL}, ",")
}

// Parse reads SBAT text; source names it in errors ("stub .sbat",
// a file name). Trailing NULs are ignored, as are blank lines and CRs.
// The "sbat,1,..." version line is returned separately from the entries
// (header is empty when there is none).
func Parse(source string, text []byte) (header *Entry, entries []Entry, err error) {
	text = bytes.TrimRight(text, "\x00")
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := ParseLine(line)
		if err != nil {
			return nil, nil, fmt.Errorf("%s line %d: %w", source, i+1, err)
		}
		if e.Component == "sbat" {
			if header != nil {
				return nil, nil, fmt.Errorf("%s line %d: %w: a second sbat version line", source, i+1, ErrMalformed)
			}
			header = &e
			continue
		}
		entries = append(entries, e)
	}
	return header, entries, nil
}

// ParseLine checks and splits one SBAT line.
func ParseLine(line string) (Entry, error) {
	// A control character (a NUL, a second CR before the line end) would
	// sit inside a field, where shim compares bytes: refuse it rather than
	// guess what a reader of the section makes of it.
	if i := strings.IndexFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return Entry{}, fmt.Errorf("%w: control character %q in %q", ErrMalformed, line[i], line)
	}
	f := strings.Split(line, ",")
	if len(f) != NumFields {
		return Entry{}, fmt.Errorf("%w: %d fields in %q, expected %d", ErrMalformed, len(f), line, NumFields)
	}
	for i, v := range f {
		if strings.TrimSpace(v) == "" {
			return Entry{}, fmt.Errorf("%w: empty %s in %q", ErrMalformed, fieldNames[i], line)
		}
	}
	if !positive(f[1]) {
		return Entry{}, fmt.Errorf("%w: component_generation %q is not a positive number in %q", ErrMalformed, f[1], line)
	}
	return Entry{f[0], f[1], f[2], f[3], f[4], f[5]}, nil
}

func positive(s string) bool {
	if s == "" || s == "0" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Errors of Merge that callers branch on.
var (
	// ErrLowerGeneration: an entry would replace one of the same component
	// with a lower generation. shim revokes an image when any entry of a
	// component is below its level, so lowering one only makes the image
	// revocable; it is refused as a mistake.
	ErrLowerGeneration = errors.New("SBAT entry would lower a component's generation")
	// ErrDuplicateComponent: one source lists a component twice with
	// different lines.
	ErrDuplicateComponent = errors.New("SBAT component listed twice")
)

// Source is one input to Merge.
type Source struct {
	Name string // for errors
	Text []byte
	// Default entries only add components not listed before them (the
	// lines a UKI carries unless the stub, kernel or user say otherwise).
	Default bool
}

// Merge combines several SBAT texts (the stub's, the kernel's, defaults,
// the user's) into one section under a single version line. An entry for a
// component an earlier source lists replaces that entry in place (so a
// user's "systemd,2,..." raises the stub's "systemd,1,..." instead of
// sitting beside it, where shim would still see generation 1), except that
// a Default source never replaces anything and no entry may lower a
// generation (ErrLowerGeneration). Within one source a component appears
// once (exact repeats are dropped). The result ends with a newline and a
// NUL, as ukify writes it.
func Merge(sources ...Source) ([]byte, error) {
	var merged []Entry
	index := map[string]int{} // component -> position in merged
	for _, s := range sources {
		_, entries, err := Parse(s.Name, s.Text)
		if err != nil {
			return nil, err
		}
		own := map[string]Entry{}
		for _, e := range entries {
			if prev, ok := own[e.Component]; ok {
				if prev == e {
					continue
				}
				return nil, fmt.Errorf("%s: %w: %q and %q", s.Name, ErrDuplicateComponent, prev, e)
			}
			own[e.Component] = e
			i, listed := index[e.Component]
			switch {
			case !listed:
				index[e.Component] = len(merged)
				merged = append(merged, e)
			case s.Default:
			case generation(e) < generation(merged[i]):
				return nil, fmt.Errorf("%s: %w: %q would replace %q", s.Name, ErrLowerGeneration, e, merged[i])
			default:
				merged[i] = e
			}
		}
	}
	var b strings.Builder
	b.WriteString(Header)
	b.WriteByte('\n')
	for _, e := range merged {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	b.WriteByte(0)
	return []byte(b.String()), nil
}

// generation is the entry's component_generation; ParseLine checked it is
// a positive number of at most nine digits.
func generation(e Entry) int {
	n, _ := strconv.Atoi(e.Generation)
	return n
}
