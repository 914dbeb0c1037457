package uki

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrNoLoaderInfo is returned for a .sdmagic section that does not hold
// "#### LoaderInfo: <loader> <version> ####".
var ErrNoLoaderInfo = errors.New("no LoaderInfo in .sdmagic")

// Loader names systemd's EFI binaries write in their .sdmagic.
const (
	LoaderStub  = "systemd-stub"
	LoaderAddon = "systemd-addon" // the stub of addons and profile PEs
)

// StubInfo is what a systemd EFI binary's .sdmagic section says about it:
// "#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####" gives Loader
// "systemd-stub" and Version "252.39-1~deb12u2". systemd-boot writes the
// same line with its own name.
type StubInfo struct {
	Loader  string
	Version string
}

// String is the line's middle part, "systemd-stub 252.39-1~deb12u2" ("" for
// the zero StubInfo).
func (s StubInfo) String() string {
	if s.Loader == "" {
		return ""
	}
	return s.Loader + " " + s.Version
}

// IsStub tells whether the binary is systemd-stub.
func (s StubInfo) IsStub() bool { return s.Loader == LoaderStub }

// Major is the leading decimal number of the version ("252.39-1~deb12u2"
// -> 252, "257~rc2" -> 257), or 0 when the version does not start with one.
func (s StubInfo) Major() int {
	end := 0
	for end < len(s.Version) && s.Version[end] >= '0' && s.Version[end] <= '9' {
		end++
	}
	if end == 0 || end > 6 {
		return 0
	}
	n, _ := strconv.Atoi(s.Version[:end]) // at most six digits: cannot fail
	return n
}

// sdmagic frames the loader and version in a .sdmagic section.
const (
	sdmagicPrefix = "#### LoaderInfo:"
	sdmagicSuffix = "####"
	maxSDMagic    = 4096
)

// ParseSDMagic reads the contents of a .sdmagic section, which may carry NUL
// padding up to its raw size. It is the only parser of that line: pkg/uki
// and pkg/measure both take their stub version from here.
func ParseSDMagic(b []byte) (StubInfo, error) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s := strings.TrimSpace(string(b))
	bad := func() (StubInfo, error) { return StubInfo{}, fmt.Errorf("%q: %w", truncate(s, 80), ErrNoLoaderInfo) }
	rest, ok := strings.CutPrefix(s, sdmagicPrefix)
	if !ok {
		return bad()
	}
	if rest, ok = strings.CutSuffix(rest, sdmagicSuffix); !ok {
		return bad()
	}
	f := strings.Fields(rest)
	if len(f) != 2 {
		return bad()
	}
	return StubInfo{Loader: f[0], Version: f[1]}, nil
}

// ReadStubInfo parses the .sdmagic section of f; ErrNotStub when there is
// none.
func ReadStubInfo(f *pe.File) (StubInfo, error) {
	s := f.Section(SectionSDMagic)
	if s == nil {
		return StubInfo{}, ErrNotStub
	}
	b, err := f.SectionData(s, maxSDMagic)
	if err != nil {
		return StubInfo{}, err
	}
	return ParseSDMagic(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
