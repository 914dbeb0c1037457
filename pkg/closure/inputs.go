package closure

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInput is wrapped by errors in the Nix-produced inputs.
var ErrInput = errors.New("malformed closure input")

// ReadClosureInfo reads a closureInfo directory (nixpkgs closure-info.nix)
// through its "registration" file, or a registration file given directly
// (`nix-store --dump-db` writes the same format).
func ReadClosureInfo(p string) ([]Entry, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		p = filepath.Join(p, "registration")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := ParseRegistration(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return entries, nil
}

// ParseRegistration parses Nix's registration format: for each path, one
// value per line: path, narHash, narSize, deriver (may be empty), the number
// of references, then each reference.
func ParseRegistration(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	line := 0
	next := func(what string) (string, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", fmt.Errorf("%w: registration truncated: expected %s after line %d", ErrInput, what, line)
		}
		line++
		return sc.Text(), nil
	}
	var entries []Entry
	for sc.Scan() {
		line++
		p := sc.Text()
		if p == "" {
			continue // closure-info ends with a newline; tolerate blank separators
		}
		hashText, err := next("a NAR hash")
		if err != nil {
			return nil, err
		}
		h, err := ParseNarHash(hashText)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrInput, line, err)
		}
		sizeText, err := next("a NAR size")
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseUint(sizeText, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: invalid NAR size %q", ErrInput, line, clip(sizeText))
		}
		if _, err := next("a deriver"); err != nil {
			return nil, err
		}
		nText, err := next("a reference count")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(nText, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: invalid reference count %q", ErrInput, line, clip(nText))
		}
		for i := uint64(0); i < n; i++ {
			if _, err := next("a reference"); err != nil {
				return nil, err
			}
		}
		entries = append(entries, Entry{Path: p, NarHash: h, NarSize: size})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: registration lists no store paths", ErrInput)
	}
	return entries, nil
}

// pathInfo is the part of a path's JSON description that all three JSON
// producers share (exportReferencesGraph, nix path-info --json old and new).
type pathInfo struct {
	Path    string  `json:"path"`
	NarHash string  `json:"narHash"`
	NarSize *uint64 `json:"narSize"`
}

func (pi pathInfo) entry() (Entry, error) {
	if pi.Path == "" || pi.NarHash == "" || pi.NarSize == nil {
		return Entry{}, fmt.Errorf("%w: an entry lacks path, narHash or narSize", ErrInput)
	}
	h, err := ParseNarHash(pi.NarHash)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %s: %w", ErrInput, pi.Path, err)
	}
	return Entry{Path: pi.Path, NarHash: h, NarSize: *pi.NarSize}, nil
}

// ParseAttrsJSON reads the closures that exportReferencesGraph put in a
// structured-attrs .attrs.json: every top-level attribute that is a list of
// path descriptions. Other attributes are ignored.
func ParseAttrsJSON(data []byte) ([]Entry, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(data, &attrs); err != nil {
		return nil, fmt.Errorf("%w: .attrs.json: %w", ErrInput, err)
	}
	var entries []Entry
	for _, raw := range attrs {
		var list []map[string]json.RawMessage
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			continue
		}
		if _, ok := list[0]["narHash"]; !ok {
			continue
		}
		var infos []pathInfo
		if err := json.Unmarshal(raw, &infos); err != nil {
			return nil, fmt.Errorf("%w: .attrs.json: %w", ErrInput, err)
		}
		for _, pi := range infos {
			e, err := pi.entry()
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: .attrs.json has no exportReferencesGraph closure (a list of {path, narHash, narSize})", ErrInput)
	}
	return entries, nil
}

// ParsePathInfoJSON reads `nix path-info --json -r`: a list of objects with
// a "path" (Nix up to 2.18) or an object keyed by path (later versions).
func ParsePathInfoJSON(data []byte) ([]Entry, error) {
	data = bytes.TrimSpace(data)
	var infos []pathInfo
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &infos); err != nil {
			return nil, fmt.Errorf("%w: path-info JSON: %w", ErrInput, err)
		}
	case len(data) > 0 && data[0] == '{':
		var byPath map[string]*pathInfo
		if err := json.Unmarshal(data, &byPath); err != nil {
			return nil, fmt.Errorf("%w: path-info JSON: %w", ErrInput, err)
		}
		for p, pi := range byPath {
			if pi == nil {
				return nil, fmt.Errorf("%w: path-info JSON: %s is not valid in the store", ErrInput, p)
			}
			pi.Path = p
			infos = append(infos, *pi)
		}
	default:
		return nil, fmt.Errorf("%w: path-info JSON must be a list or an object", ErrInput)
	}
	var entries []Entry
	for _, pi := range infos {
		if pi.Path != "" && !strings.HasPrefix(pi.Path, "/") {
			return nil, fmt.Errorf("%w: path-info JSON: %q is not an absolute store path", ErrInput, clip(pi.Path))
		}
		e, err := pi.entry()
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: path-info JSON lists no store paths", ErrInput)
	}
	return entries, nil
}
