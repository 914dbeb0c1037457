package medium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/iso9660"
	"golang.org/x/sys/unix"
)

// Errors from Find.
var (
	ErrNotFound  = errors.New("no medium with that volume label and UUID")
	ErrAmbiguous = errors.New("more than one medium with that volume label and UUID")
	ErrQuery     = errors.New("a medium needs a volume label or UUID")
)

// Query says which volume to find; an empty field matches anything, but
// not both may be empty.
type Query struct {
	Label string
	UUID  string
}

func (q Query) String() string {
	var parts []string
	if q.Label != "" {
		parts = append(parts, "label "+q.Label)
	}
	if q.UUID != "" {
		parts = append(parts, "UUID "+q.UUID)
	}
	return strings.Join(parts, ", ")
}

func (q Query) matches(v iso9660.Volume) bool {
	return (q.Label == "" || v.Label == q.Label) && (q.UUID == "" || v.UUID == q.UUID)
}

// System is where devices are listed and opened; the zero value is the
// real one.
type System struct {
	SysBlock string        // "" means /sys/class/block
	Dev      string        // "" means /dev
	Poll     time.Duration // between scans; 0 means 250 ms
}

// Find returns the /dev path of the one device holding the volume,
// scanning again until wait has passed (or ctx ends).
func (s System) Find(ctx context.Context, q Query, wait time.Duration) (string, error) {
	if q.Label == "" && q.UUID == "" {
		return "", ErrQuery
	}
	if s.SysBlock == "" {
		s.SysBlock = "/sys/class/block"
	}
	if s.Dev == "" {
		s.Dev = "/dev"
	}
	if s.Poll == 0 {
		s.Poll = 250 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for {
		dev, err := s.scan(q)
		if err == nil || !errors.Is(err, ErrNotFound) || !time.Now().Before(deadline) {
			if errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("%w (%s) after %s", ErrNotFound, q, wait)
			}
			return dev, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(s.Poll):
		}
	}
}

// scan looks once at every block device.
func (s System) scan(q Query) (string, error) {
	entries, err := os.ReadDir(s.SysBlock)
	if err != nil {
		return "", fmt.Errorf("listing block devices: %w", err)
	}
	matched := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if v, err := s.read(name); err == nil && q.matches(v) {
			matched[name] = true
		}
	}
	var found []string
	for name := range matched {
		if parent, ok := s.parentDisk(name); ok && matched[parent] {
			continue // the disk's own match is kept
		}
		found = append(found, name)
	}
	sort.Strings(found)
	switch len(found) {
	case 0:
		return "", ErrNotFound
	case 1:
		return filepath.Join(s.Dev, found[0]), nil
	}
	return "", fmt.Errorf("%w (%s): %s", ErrAmbiguous, q, strings.Join(found, ", "))
}

// read reads the volume on one device; an empty drive (size 0) or a
// device without a node is an error, and skipped.
func (s System) read(name string) (iso9660.Volume, error) {
	size, err := os.ReadFile(filepath.Join(s.SysBlock, name, "size"))
	if err == nil && strings.TrimSpace(string(size)) == "0" {
		return iso9660.Volume{}, errors.New("empty")
	}
	f, err := os.OpenFile(filepath.Join(s.Dev, name), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return iso9660.Volume{}, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeNamedPipe != 0 || st.Mode()&os.ModeCharDevice != 0 {
		return iso9660.Volume{}, errors.New("not a block device or file")
	}
	return iso9660.Read(f)
}

// parentDisk names the disk a partition belongs to (sysfs puts a
// partition's directory inside its disk's).
func (s System) parentDisk(name string) (string, bool) {
	if _, err := os.Stat(filepath.Join(s.SysBlock, name, "partition")); err != nil {
		return "", false
	}
	target, err := filepath.EvalSymlinks(filepath.Join(s.SysBlock, name))
	if err != nil {
		return "", false
	}
	return filepath.Base(filepath.Dir(target)), true
}
