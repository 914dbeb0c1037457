package keys

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// mount is one line of /proc/self/mountinfo (proc(5)): which directory of
// which filesystem (Root, on device Dev, "major:minor") is mounted where.
type mount struct {
	Dev, Root, Point string
}

type mountTable []mount

// maxMountinfo bounds what is read of the mount table.
const maxMountinfo = 16 << 20

func readMountinfo(path string) (mountTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t mountTable
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	read := 0
	for sc.Scan() {
		if read += len(sc.Bytes()); read > maxMountinfo {
			return nil, fmt.Errorf("%s: over %d bytes", path, maxMountinfo)
		}
		// ID parentID major:minor root mountpoint options ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			return nil, fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		t = append(t, mount{Dev: fields[2], Root: unescapeMount(fields[3]), Point: unescapeMount(fields[4])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// fsPath translates p (absolute, without symlinks) into the device it is
// on and its path from that filesystem's root, through the mount that
// holds p: the one with the longest mount point above p, the last mounted
// when several share it.
func (t mountTable) fsPath(p string) (dev, path string, ok bool) {
	best := -1
	for i, m := range t {
		if within(p, m.Point) && (best < 0 || len(m.Point) >= len(t[best].Point)) {
			best = i
		}
	}
	if best < 0 {
		return "", "", false
	}
	m := t[best]
	rest := strings.TrimPrefix(p, m.Point)
	if m.Point == "/" {
		rest = p
	}
	path = strings.TrimSuffix(m.Root, "/") + rest
	if path == "" {
		path = "/"
	}
	return m.Dev, path, true
}

// unescapeMount undoes the octal escapes (\040 for a space, \011, \012,
// \134) the kernel writes in mountinfo paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
