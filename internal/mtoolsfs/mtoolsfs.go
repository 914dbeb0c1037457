// Package mtoolsfs is an esp.FS on a FAT file system image, through GNU
// mtools (mcopy, mmove, mdel, mmd, mdir, minfo), so that install tests get
// FAT's semantics (clusters, case-insensitive names, its own free-space
// count) without mounting anything: the test machines' kernels have no
// vfat, and tests run unprivileged. Files being written are staged on the
// host and copied in when closed.
//
// For tests only; it trusts the image and mtools' output.
package mtoolsfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
)

// FS is an esp.FS on Image.
type FS struct {
	Image string
	// Tmp is a host directory for staged files.
	Tmp string
}

// Format makes a FAT image of size bytes with mkfs.vfat.
func Format(image string, size int64) error {
	if err := os.WriteFile(image, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(image, size); err != nil {
		return err
	}
	out, err := exec.Command("mkfs.vfat", "-n", "ESP", image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.vfat: %w: %s", err, out)
	}
	return nil
}

func (f *FS) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, append([]string{"-i", f.Image}, args...)...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "MTOOLS_NO_VFAT=0", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "not found") {
			return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), fs.ErrNotExist)
		}
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

func img(name string) string {
	if name == "." || name == "" {
		return "::/"
	}
	return "::/" + name
}

// Create implements esp.FS.
func (f *FS) Create(name string) (esp.File, error) {
	h, err := os.CreateTemp(f.Tmp, "stage-")
	if err != nil {
		return nil, err
	}
	return &staged{File: h, fs: f, name: name}, nil
}

type staged struct {
	*os.File
	fs   *FS
	name string
}

// Close copies the staged file into the image.
func (s *staged) Close() error {
	host := s.File.Name()
	defer os.Remove(host)
	if err := s.File.Close(); err != nil {
		return err
	}
	_, err := s.fs.run("mcopy", "-o", host, img(s.name))
	return err
}

// Open implements esp.FS: the file is copied out to the host.
func (f *FS) Open(name string) (esp.ReadFile, error) {
	if _, err := f.Stat(name); err != nil {
		return nil, err
	}
	h, err := os.CreateTemp(f.Tmp, "read-")
	if err != nil {
		return nil, err
	}
	h.Close()
	if _, err := f.run("mcopy", "-o", img(name), h.Name()); err != nil {
		os.Remove(h.Name())
		return nil, err
	}
	r, err := os.Open(h.Name())
	os.Remove(h.Name())
	return r, err
}

// Rename implements esp.FS, replacing the target.
func (f *FS) Rename(a, b string) error {
	_, err := f.run("mmove", "-D", "o", img(a), img(b))
	return err
}

// SyncDir implements esp.FS: mtools has written through when it exits;
// the image file is synced.
func (f *FS) SyncDir(string) error {
	h, err := os.OpenFile(f.Image, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Sync()
}

// Remove implements esp.FS.
func (f *FS) Remove(name string) error {
	_, err := f.run("mdel", img(name))
	return err
}

// dirLine is one line of mdir's listing: short name, extension, size or
// <DIR>, date, time, then the long name if there is one.
var dirLine = regexp.MustCompile(`^(\S+)\s+(\S*)\s+(<DIR>|\d+)\s+\d{4}-\d\d-\d\d\s+\d+:\d\d\s*(.*)$`)

type entry struct {
	name string
	size int64
	dir  bool
}

func (f *FS) list(p string) ([]entry, string, error) {
	out, err := f.run("mdir", "-a", img(p))
	if err != nil {
		return nil, "", err
	}
	var ents []entry
	for _, l := range strings.Split(out, "\n") {
		m := dirLine.FindStringSubmatch(strings.TrimRight(l, " "))
		if m == nil {
			continue
		}
		name := m[4]
		if name == "" {
			name = m[1]
			if m[2] != "" {
				name += "." + m[2]
			}
		}
		if name == "." || name == ".." {
			continue
		}
		e := entry{name: name, dir: m[3] == "<DIR>"}
		if !e.dir {
			e.size, _ = strconv.ParseInt(m[3], 10, 64)
		}
		ents = append(ents, e)
	}
	return ents, out, nil
}

// ReadDir implements esp.FS.
func (f *FS) ReadDir(dir string) ([]string, error) {
	if fi, err := f.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	ents, _, err := f.list(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.name
	}
	return names, nil
}

// Stat implements esp.FS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if name == "." || name == "" {
		return info{name: ".", dir: true}, nil
	}
	ents, _, err := f.list(path.Dir(name))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if strings.EqualFold(e.name, path.Base(name)) {
			return info{name: e.name, size: e.size, dir: e.dir}, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
}

// MkdirAll implements esp.FS.
func (f *FS) MkdirAll(dir string) error {
	if dir == "." || dir == "" {
		return nil
	}
	if fi, err := f.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := f.MkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	_, err := f.run("mmd", img(dir))
	return err
}

var freeLine = regexp.MustCompile(`([\d ]+) bytes free`)
var clusterLine = regexp.MustCompile(`cluster size:\s*(\d+) sectors`)
var sectorLine = regexp.MustCompile(`sector size:\s*(\d+)`)

// Space implements esp.FS from mdir's and minfo's counts.
func (f *FS) Space() (free, block int64, err error) {
	_, out, err := f.list(".")
	if err != nil {
		return 0, 0, err
	}
	m := freeLine.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("mdir: no free space line in %q", out)
	}
	free, _ = strconv.ParseInt(strings.ReplaceAll(m[1], " ", ""), 10, 64)
	info, err := f.run("minfo")
	if err != nil {
		return 0, 0, err
	}
	c, s := clusterLine.FindStringSubmatch(info), sectorLine.FindStringSubmatch(info)
	if c == nil || s == nil {
		return 0, 0, fmt.Errorf("minfo: no cluster size")
	}
	spc, _ := strconv.ParseInt(c[1], 10, 64)
	ss, _ := strconv.ParseInt(s[1], 10, 64)
	return free, spc * ss, nil
}

type info struct {
	name string
	size int64
	dir  bool
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }
