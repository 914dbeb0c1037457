package closure

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// ErrManifest is wrapped by every manifest syntax error.
var ErrManifest = errors.New("malformed manifest")

// ErrManifestVersion reports a manifest of a version this program does not know.
var ErrManifestVersion = errors.New("unsupported manifest version")

// maxManifestLine bounds a line: a store path is at most 211 + store-dir bytes.
const maxManifestLine = 4096

// ParseManifest parses and validates manifest bytes.
func ParseManifest(data []byte) (*Manifest, error) {
	p := &manifestParser{data: data}
	m, err := p.parse()
	if err != nil {
		if p.line > 0 {
			return nil, fmt.Errorf("line %d: %w", p.line, err)
		}
		return nil, err
	}
	return m, nil
}

type manifestParser struct {
	data []byte
	line int
}

func (p *manifestParser) next() (string, error) {
	if len(p.data) == 0 {
		return "", fmt.Errorf("%w: truncated (no \"end\" line)", ErrManifest)
	}
	p.line++
	i := bytes.IndexByte(p.data, '\n')
	if i < 0 {
		return "", fmt.Errorf("%w: truncated (last line has no newline)", ErrManifest)
	}
	if i > maxManifestLine {
		return "", fmt.Errorf("%w: line too long", ErrManifest)
	}
	line := string(p.data[:i])
	if strings.ContainsRune(line, '\r') {
		return "", fmt.Errorf("%w: carriage return in line (the format uses \\n line ends only)", ErrManifest)
	}
	p.data = p.data[i+1:]
	return line, nil
}

// field expects "key value" and returns value.
func (p *manifestParser) field(key string) (string, error) {
	line, err := p.next()
	if err != nil {
		return "", err
	}
	return headerValue(line, key)
}

// headerValue expects "key value" in a header line and returns value.
func headerValue(line, key string) (string, error) {
	v, ok := strings.CutPrefix(line, key+" ")
	if !ok || v == "" || strings.Contains(v, " ") {
		return "", fmt.Errorf("%w: expected %q, got %q", ErrManifest, key+" ...", clip(line))
	}
	return v, nil
}

func (p *manifestParser) number(key string) (uint64, error) {
	v, err := p.field(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: %s: %q is not a number", ErrManifest, key, clip(v))
	}
	return n, nil
}

func (p *manifestParser) parse() (*Manifest, error) {
	version, err := p.field(ManifestMagic)
	if err != nil {
		if p.line == 1 {
			return nil, fmt.Errorf("%w: not a closure manifest (first line must be %q)", ErrManifest, fmt.Sprintf("%s %d", ManifestMagic, ManifestVersion))
		}
		return nil, err
	}
	if version != strconv.Itoa(ManifestVersion) {
		return nil, fmt.Errorf("%w %q (this program reads version %d)", ErrManifestVersion, clip(version), ManifestVersion)
	}
	storeDir, err := p.field("store-dir")
	if err != nil {
		return nil, err
	}
	if err := ValidateStoreDir(storeDir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	count, err := p.number("paths")
	if err != nil {
		return nil, err
	}
	total, err := p.number("nar-bytes")
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, fmt.Errorf("%w: lists no store paths", ErrManifest)
	}
	if count > uint64(len(p.data)/40) {
		return nil, fmt.Errorf("%w: says %d paths but is too short for them", ErrManifest, count)
	}
	m := &Manifest{StoreDir: storeDir, Entries: make([]Entry, 0, count)}
	var sum uint64
	for {
		line, err := p.next()
		if err != nil {
			return nil, err
		}
		if line == "end" {
			break
		}
		e, err := parseEntry(storeDir, line)
		if err != nil {
			return nil, err
		}
		if n := len(m.Entries); n > 0 && m.Entries[n-1].Path >= e.Path {
			return nil, fmt.Errorf("%w: %s is out of order or listed twice", ErrManifest, e.Path)
		}
		m.Entries = append(m.Entries, e)
		if sum, err = addNarBytes(sum, e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrManifest, err)
		}
	}
	if len(p.data) != 0 {
		return nil, fmt.Errorf("%w: data after the \"end\" line", ErrManifest)
	}
	if uint64(len(m.Entries)) != count {
		return nil, fmt.Errorf("%w: header says %d paths, found %d", ErrManifest, count, len(m.Entries))
	}
	if sum != total {
		return nil, fmt.Errorf("%w: header says %d NAR bytes, the paths add up to %d", ErrManifest, total, sum)
	}
	return m, nil
}

func parseEntry(storeDir, line string) (Entry, error) {
	var e Entry
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return e, fmt.Errorf("%w: expected \"<store path> sha256:<hash> <size>\", got %q", ErrManifest, clip(line))
	}
	e.Path = f[0]
	if err := ValidateStorePath(storeDir, e.Path); err != nil {
		return e, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	h, ok := strings.CutPrefix(f[1], "sha256:")
	if !ok || len(h) != nixbase32.EncodedLen(len(e.NarHash)) {
		return e, fmt.Errorf("%w: %s: invalid NAR hash %q", ErrManifest, e.Path, clip(f[1]))
	}
	d, err := nixbase32.DecodeString(h)
	if err != nil {
		return e, fmt.Errorf("%w: %s: invalid NAR hash %q", ErrManifest, e.Path, clip(f[1]))
	}
	copy(e.NarHash[:], d)
	size, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil || (len(f[2]) > 1 && f[2][0] == '0') {
		return e, fmt.Errorf("%w: %s: invalid NAR size %q", ErrManifest, e.Path, clip(f[2]))
	}
	e.NarSize = size
	if err := validateEntry(storeDir, e); err != nil {
		return e, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	return e, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
