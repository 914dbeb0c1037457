package bootspec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrMalformed is wrapped by every error about a document's contents.
var ErrMalformed = errors.New("malformed bootspec")

// Spec is one bootable system: the org.nixos.bootspec.v1 object.
type Spec struct {
	System        string   `json:"system"`
	Kernel        string   `json:"kernel"`
	KernelParams  []string `json:"kernelParams"`
	Initrd        string   `json:"initrd,omitempty"`        // empty when the system has no initrd
	InitrdSecrets string   `json:"initrdSecrets,omitempty"` // an appender program, unsupported here
	Init          string   `json:"init"`
	Label         string   `json:"label"`
	Toplevel      string   `json:"toplevel"`
}

// Document is a boot.json: the system's Spec and its specialisations,
// sorted by name.
type Document struct {
	Spec
	Specialisations []Specialisation
}

// Specialisation is a named alternative system of a generation.
type Specialisation struct {
	Name string
	Document
}

// Cmdline is the generation's kernel command line: init=<init>, then the
// kernel parameters, as NixOS boot loaders write it.
func (s *Spec) Cmdline() string {
	return strings.Join(append([]string{"init=" + s.Init}, s.KernelParams...), " ")
}

// ReadFile reads and parses path (a toplevel's boot.json).
func ReadFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrMalformed, MaxSize)
	}
	d, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Parse parses a document.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return parseTop(top, 0)
}

func parseTop(top map[string]json.RawMessage, depth int) (*Document, error) {
	raw, ok := top[KeyV1]
	if !ok {
		return nil, fmt.Errorf("%w: no %q object (only bootspec version 1 is understood)", ErrMalformed, KeyV1)
	}
	d := &Document{}
	if err := parseSpec(raw, &d.Spec); err != nil {
		return nil, err
	}
	specs, ok := top[KeySpecialisation]
	if !ok || string(specs) == "null" {
		return d, nil
	}
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(specs, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, KeySpecialisation, err)
	}
	if len(m) > 0 && depth >= MaxDepth {
		return nil, fmt.Errorf("%w: specialisations nested deeper than %d", ErrMalformed, MaxDepth)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checkName(n); err != nil {
			return nil, err
		}
		sub, err := parseTop(m[n], depth+1)
		if err != nil {
			return nil, fmt.Errorf("specialisation %s: %w", n, err)
		}
		d.Specialisations = append(d.Specialisations, Specialisation{Name: n, Document: *sub})
	}
	return d, nil
}

// parseSpec decodes the v1 object and checks its required fields. Fields
// it does not know are ignored, as lanzaboote's reader does: they cannot
// change the fields read here, and refusing them would leave every
// generation of a newer NixOS unbootable.
func parseSpec(raw json.RawMessage, s *Spec) error {
	// Decode into pointers to tell a missing field from an empty one.
	var v struct {
		System        *string   `json:"system"`
		Kernel        *string   `json:"kernel"`
		KernelParams  *[]string `json:"kernelParams"`
		Initrd        *string   `json:"initrd"`
		InitrdSecrets *string   `json:"initrdSecrets"`
		Init          *string   `json:"init"`
		Label         *string   `json:"label"`
		Toplevel      *string   `json:"toplevel"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMalformed, KeyV1, err)
	}
	for _, f := range []struct {
		name string
		p    *string
		path bool
	}{
		{"system", v.System, false},
		{"kernel", v.Kernel, true},
		{"init", v.Init, true},
		{"label", v.Label, false},
		{"toplevel", v.Toplevel, true},
	} {
		if f.p == nil || *f.p == "" {
			return fmt.Errorf("%w: %s: %q is missing", ErrMalformed, KeyV1, f.name)
		}
		if f.path {
			if err := checkPath(f.name, *f.p); err != nil {
				return err
			}
		}
	}
	if v.KernelParams == nil {
		return fmt.Errorf("%w: %s: %q is missing", ErrMalformed, KeyV1, "kernelParams")
	}
	for _, p := range *v.KernelParams {
		if p == "" || strings.ContainsAny(p, " \t\r\n\x00") {
			return fmt.Errorf("%w: kernelParams: %q is not one kernel parameter", ErrMalformed, p)
		}
	}
	if strings.ContainsAny(*v.Init, " \t\r\n") {
		return fmt.Errorf("%w: init %q contains white space", ErrMalformed, *v.Init)
	}
	if strings.ContainsAny(*v.Label, "\r\n\x00") {
		return fmt.Errorf("%w: label spans lines", ErrMalformed)
	}
	*s = Spec{System: *v.System, Kernel: *v.Kernel, KernelParams: *v.KernelParams, Init: *v.Init, Label: *v.Label, Toplevel: *v.Toplevel}
	if v.Initrd != nil {
		if err := checkPath("initrd", *v.Initrd); err != nil {
			return err
		}
		s.Initrd = *v.Initrd
	}
	if v.InitrdSecrets != nil {
		s.InitrdSecrets = *v.InitrdSecrets
	}
	return nil
}

func checkPath(field, p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%w: %s %q is not a clean absolute path", ErrMalformed, field, p)
	}
	return nil
}

// checkName admits the specialisation names that can become part of a file
// name on FAT and in a systemd-boot entry id.
func checkName(n string) error {
	if n == "" || len(n) > 64 {
		return fmt.Errorf("%w: specialisation name %q: empty or longer than 64 bytes", ErrMalformed, n)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%w: specialisation name %q: only letters, digits, '-', '_' and '.' are allowed", ErrMalformed, n)
		}
	}
	return nil
}
