package uki

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
)

// ErrNoRelease is returned when a kernel's release string cannot be found.
var ErrNoRelease = errors.New("cannot find the kernel release in the image")

var releasePattern = regexp.MustCompile(`^([a-z0-9._+-]+) \(`)

// KernelRelease reads the release ("6.1.0-27-amd64") from an x86 bzImage's
// real-mode header (Linux boot protocol, kernel_version field at 0x20e,
// an offset from 0x200 to "RELEASE (builder) #...").
func KernelRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var hdr [0x210]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoRelease, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("%w: no x86 boot protocol header", ErrNoRelease)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	var text [128]byte
	n, _ := f.ReadAt(text[:], off)
	s := text[:n]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	m := releasePattern.FindSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%w: version string %q", ErrNoRelease, s)
	}
	return string(m[1]), nil
}
