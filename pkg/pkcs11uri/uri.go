package pkcs11uri

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLength bounds a URI: a module path, a token label and an id fit in far
// less.
const MaxLength = 4096

// Scheme is the URI scheme with its colon.
const Scheme = "pkcs11:"

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed PKCS#11 URI")

// URI is a parsed PKCS#11 URI. Empty fields were not given.
type URI struct {
	// Path attributes (RFC 7512 section 2.3) naming the token.
	Token        string // token label
	Manufacturer string
	Serial       string // token serial number
	Model        string
	// SlotID is the slot's number (slot-id, RFC 7512 as updated by
	// RFC 7512's errata and p11-kit); nil when not given.
	SlotID *uint64
	// Path attributes naming the object.
	Object string // CKA_LABEL
	ID     []byte // CKA_ID, raw bytes
	Type   string // "private" or empty

	// Query attributes.
	ModulePath string // module-path: the PKCS#11 library to load
	ModuleName string // module-name: a library name, resolved by the caller
	PINSource  string // pin-source: where to read the PIN (file:PATH or PATH)
	PINValue   string // pin-value: the PIN itself (see the package doc)
	// HasPINValue reports that pin-value was given, even empty.
	HasPINValue bool
}

// Parse parses s, which must start with "pkcs11:".
func Parse(s string) (*URI, error) {
	if len(s) > MaxLength {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(s), MaxLength)
	}
	rest, ok := cutScheme(s)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %q", ErrMalformed, Scheme)
	}
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	if path != "" {
		for _, attr := range strings.Split(path, ";") {
			if err := u.setPath(attr, seen); err != nil {
				return nil, err
			}
		}
	}
	if query != "" {
		for _, attr := range strings.Split(query, "&") {
			if err := u.setQuery(attr, seen); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// cutScheme removes the scheme, case-insensitively as RFC 3986 allows.
func cutScheme(s string) (string, bool) {
	if len(s) < len(Scheme) || !strings.EqualFold(s[:len(Scheme)], Scheme) {
		return "", false
	}
	return s[len(Scheme):], true
}

// split separates name=value, decoding the value, and refuses repeats.
func split(attr string, seen map[string]bool) (name string, value []byte, err error) {
	name, raw, ok := strings.Cut(attr, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("%w: attribute %q is not name=value", ErrMalformed, attr)
	}
	if seen[name] {
		return "", nil, fmt.Errorf("%w: attribute %q given twice", ErrMalformed, name)
	}
	seen[name] = true
	value, err = unescape(raw)
	if err != nil {
		return "", nil, fmt.Errorf("%w: attribute %s: %w", ErrMalformed, name, err)
	}
	return name, value, nil
}

func (u *URI) setPath(attr string, seen map[string]bool) error {
	name, v, err := split(attr, seen)
	if err != nil {
		return err
	}
	switch name {
	case "token":
		u.Token = string(v)
	case "manufacturer":
		u.Manufacturer = string(v)
	case "serial":
		u.Serial = string(v)
	case "model":
		u.Model = string(v)
	case "object":
		u.Object = string(v)
	case "id":
		u.ID = v
	case "slot-id":
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: slot-id %q is not a number", ErrMalformed, v)
		}
		u.SlotID = &n
	case "type":
		if string(v) != "private" {
			return fmt.Errorf("%w: type=%s, a signing key is type=private", ErrMalformed, v)
		}
		u.Type = "private"
	case "library-manufacturer", "library-description", "library-version", "slot-manufacturer", "slot-description":
		return fmt.Errorf("%w: attribute %s is not supported (name the token by token, serial or slot-id)", ErrMalformed, name)
	default:
		return fmt.Errorf("%w: unknown path attribute %q", ErrMalformed, name)
	}
	return nil
}

func (u *URI) setQuery(attr string, seen map[string]bool) error {
	name, v, err := split(attr, seen)
	if err != nil {
		return err
	}
	switch name {
	case "module-path":
		u.ModulePath = string(v)
	case "module-name":
		u.ModuleName = string(v)
	case "pin-source":
		u.PINSource = string(v)
	case "pin-value":
		u.PINValue, u.HasPINValue = string(v), true
	default:
		return fmt.Errorf("%w: unknown query attribute %q", ErrMalformed, name)
	}
	return nil
}

// unescape decodes RFC 3986 percent-encoding. Every byte value may be
// encoded; a '%' not followed by two hex digits is an error.
func unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return nil, fmt.Errorf("truncated escape %q", s[i:])
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bad escape %q", s[i:i+3])
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// PINFile returns the file pin-source names: RFC 7512 allows a bare path
// or a file: URI; only local files (file:PATH, file:///PATH) are read.
func (u *URI) PINFile() (string, error) {
	src := u.PINSource
	if src == "" {
		return "", nil
	}
	if p, ok := strings.CutPrefix(src, "file://"); ok {
		// file://host/path is not a local file; only the empty host is.
		if !strings.HasPrefix(p, "/") {
			return "", fmt.Errorf("%w: pin-source %q names a remote host", ErrMalformed, src)
		}
		return p, nil
	}
	if p, ok := strings.CutPrefix(src, "file:"); ok {
		src = p
	} else if i := strings.Index(src, ":"); i > 0 && !strings.Contains(src[:i], "/") {
		return "", fmt.Errorf("%w: pin-source %q: only file: is supported", ErrMalformed, u.PINSource)
	}
	if src == "" {
		return "", fmt.Errorf("%w: pin-source names no file", ErrMalformed)
	}
	return src, nil
}

// String describes the key for messages, without the PIN.
func (u *URI) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("token", u.Token)
	add("serial", u.Serial)
	if u.SlotID != nil {
		add("slot-id", strconv.FormatUint(*u.SlotID, 10))
	}
	add("object", u.Object)
	if u.ID != nil {
		var id strings.Builder
		for _, b := range u.ID {
			fmt.Fprintf(&id, "%%%02X", b)
		}
		add("id", id.String())
	}
	return Scheme + strings.Join(parts, ";")
}
