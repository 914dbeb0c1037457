// Package systemdpeer lets tests use systemd of several versions as their
// oracle: the stubs and systemd-boot unpacked by scripts/deps-systemd, and
// ukify and systemd-measure of those versions, run on this machine (252,
// Debian 12's own; 254 from its unpacked .deb) or in the debootstrap root
// of the version's suite through chroot.
//
// The versions are the ones scripts/systemd-versions pins. A version that
// is not installed skips the test, or fails it under CI=true (see
// internal/peer). It trusts the files scripts/deps-systemd put in place.
package systemdpeer

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Where scripts/deps-systemd puts things.
const (
	CacheDir = "/var/cache/nix-boot-security"
	hostStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	hostBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
)

// Version is one systemd the tests are proven against.
type Version struct {
	Major   int    // 252
	Debian  string // the Debian package version, "257.13-1~deb13u1"
	Suite   string // bookworm, bookworm-backports, trixie, sid
	HasRoot bool   // ukify and systemd-measure run in a debootstrap root
}

func (v Version) String() string { return v.Debian }

// Host is Debian 12's own systemd, which scripts/deps installs.
var Host = Version{Major: 252, Suite: "bookworm"}

var (
	pinsOnce sync.Once
	pins     []Version
	pinsErr  error
)

// Versions returns every version: the host's, then those of
// scripts/systemd-versions in its order.
func Versions(t testing.TB) []Version {
	t.Helper()
	pinsOnce.Do(func() { pins, pinsErr = readPins() })
	if pinsErr != nil {
		t.Fatal(pinsErr)
	}
	host := Host
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "systemd-boot-efi").Output(); err == nil {
		host.Debian = string(out)
	}
	return append([]Version{host}, pins...)
}

// Get returns the version of the given major number.
func Get(t testing.TB, major int) Version {
	t.Helper()
	for _, v := range Versions(t) {
		if v.Major == major {
			return v
		}
	}
	t.Fatalf("systemd %d is not pinned in scripts/systemd-versions", major)
	return Version{}
}

// Newest is the newest pinned version.
func Newest(t testing.TB) Version {
	t.Helper()
	vs := Versions(t)
	return vs[len(vs)-1]
}

func readPins() ([]Version, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "systemd-versions")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	index := map[string]int{}
	var out []Version
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		suite, pkg, ver := fields[0], fields[1], fields[2]
		digits := ver
		if i := strings.IndexFunc(ver, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = ver[:i]
		}
		major, err := strconv.Atoi(digits)
		if err != nil {
			return nil, fmt.Errorf("%s: version %q: %w", path, ver, err)
		}
		i, ok := index[ver]
		if !ok {
			i = len(out)
			index[ver] = i
			out = append(out, Version{Major: major, Debian: ver, Suite: suite})
		}
		if pkg == "root" {
			out[i].HasRoot = true
		}
	}
	return out, sc.Err()
}

func (v Version) tree() string { return filepath.Join(CacheDir, "systemd", v.Debian) }

// Root is the debootstrap root of the version's suite ("" when it has none).
func (v Version) Root() string {
	if !v.HasRoot {
		return ""
	}
	return filepath.Join(CacheDir, "roots", v.Suite)
}

// file returns the first of the paths (relative to the version's unpacked
// tree, or to / for the host's) that exists.
func (v Version) file(t testing.TB, rels ...string) string {
	t.Helper()
	var err error
	for _, rel := range rels {
		p := filepath.Join(v.tree(), rel)
		if v.Major == Host.Major {
			p = filepath.Join("/", rel)
		}
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	peer.Missing(t, "systemd %s: %v (scripts/deps-systemd)", v, err)
	return ""
}

// Stub returns the path of the version's x86-64 systemd-stub.
func (v Version) Stub(t testing.TB) string {
	t.Helper()
	return v.file(t, strings.TrimPrefix(hostStub, "/"))
}

// StubPE reads the version's systemd-stub as a PE image.
func (v Version) StubPE(t testing.TB) *pe.File {
	t.Helper()
	b, err := os.ReadFile(v.Stub(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("systemd-stub %s: %v", v, err)
	}
	return f
}

// Boot returns the path of the version's systemd-boot.
func (v Version) Boot(t testing.TB) string {
	t.Helper()
	return v.file(t, strings.TrimPrefix(hostBoot, "/"))
}
