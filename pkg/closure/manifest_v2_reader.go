package closure

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// maxFileSize bounds a regular file's size field, so NAR sizes computed
// from it cannot overflow.
const maxFileSize = 1 << 62

// ManifestReader reads a version 2 manifest as a stream: one store path and
// its entries at a time, so a closure's manifest is never held whole in
// memory (only the entries of the store path being read are).
type ManifestReader struct {
	br       *bufio.Reader
	line     int
	h        Header
	err      error // sticky
	paths    uint64
	entries  uint64
	narBytes uint64
	fileSum  uint64
	last     string
}

// NewManifestReader reads a manifest's header. A version 1 manifest gives
// an error wrapping ErrManifestVersion (read it with ParseManifest).
func NewManifestReader(r io.Reader) (*ManifestReader, error) {
	mr := &ManifestReader{br: bufio.NewReaderSize(r, maxV2Line+1)}
	if err := mr.header(); err != nil {
		return nil, mr.fail(err)
	}
	return mr, nil
}

// Header returns what the manifest's header says.
func (r *ManifestReader) Header() Header { return r.h }

func (r *ManifestReader) fail(err error) error {
	if r.err == nil {
		if r.line > 0 {
			err = fmt.Errorf("line %d: %w", r.line, err)
		}
		r.err = err
	}
	return r.err
}

func (r *ManifestReader) next() (string, error) {
	r.line++
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return "", fmt.Errorf("%w: line too long", ErrManifest)
	case err == io.EOF && len(b) == 0:
		return "", fmt.Errorf("%w: truncated (no \"end\" line)", ErrManifest)
	case err == io.EOF:
		return "", fmt.Errorf("%w: truncated (last line has no newline)", ErrManifest)
	case err != nil:
		return "", fmt.Errorf("reading manifest: %w", err)
	}
	b = b[:len(b)-1]
	if bytes.IndexByte(b, '\r') >= 0 {
		return "", fmt.Errorf("%w: carriage return in line (the format uses \\n line ends only)", ErrManifest)
	}
	return string(b), nil
}

func (r *ManifestReader) field(key string) (string, error) {
	line, err := r.next()
	if err != nil {
		return "", err
	}
	return headerValue(line, key)
}

func parseNumber(key, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: %s: %q is not a number", ErrManifest, key, clip(v))
	}
	return n, nil
}

func (r *ManifestReader) number(key string) (uint64, error) {
	v, err := r.field(key)
	if err != nil {
		return 0, err
	}
	return parseNumber(key, v)
}

func (r *ManifestReader) header() error {
	version, err := r.field(ManifestMagic)
	if err != nil {
		if r.line == 1 {
			return fmt.Errorf("%w: not a closure manifest (first line must be %q)", ErrManifest, fmt.Sprintf("%s %d", ManifestMagic, ManifestVersion2))
		}
		return err
	}
	if version != strconv.Itoa(ManifestVersion2) {
		return fmt.Errorf("%w %q (this reader reads version %d)", ErrManifestVersion, clip(version), ManifestVersion2)
	}
	r.h.Version = ManifestVersion2
	if r.h.StoreDir, err = r.field("store-dir"); err != nil {
		return err
	}
	if err := ValidateStoreDir(r.h.StoreDir); err != nil {
		return fmt.Errorf("%w: %w", ErrManifest, err)
	}
	for _, f := range []struct {
		key string
		v   *uint64
	}{{"paths", &r.h.Paths}, {"nar-bytes", &r.h.NarBytes}, {"entries", &r.h.Entries}, {"file-bytes", &r.h.FileBytes}} {
		if *f.v, err = r.number(f.key); err != nil {
			return err
		}
	}
	if r.h.Paths == 0 {
		return fmt.Errorf("%w: lists no store paths", ErrManifest)
	}
	return nil
}

// Next returns the next store path and its entries. After the last one it
// checks the "end" line and every total, and returns io.EOF; any error is
// returned again by every later call.
func (r *ManifestReader) Next() (*PathNodes, error) {
	if r.err != nil {
		return nil, r.err
	}
	pn, err := r.nextPath()
	if err != nil {
		if err == io.EOF {
			r.err = io.EOF
			return nil, io.EOF
		}
		return nil, r.fail(err)
	}
	return pn, nil
}

func (r *ManifestReader) nextPath() (*PathNodes, error) {
	line, err := r.next()
	if err != nil {
		return nil, err
	}
	if line == "end" {
		return nil, r.end()
	}
	pn, count, err := parsePathLine(r.h.StoreDir, line)
	if err != nil {
		return nil, err
	}
	if r.paths > 0 && r.last >= pn.Path {
		return nil, fmt.Errorf("%w: %s is out of order or listed twice", ErrManifest, pn.Path)
	}
	r.last = pn.Path
	r.paths++
	if r.narBytes, err = addNarBytes(r.narBytes, pn.Entry); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	var order nodeOrder
	for i := uint64(0); i < count; i++ {
		line, err := r.next()
		if err != nil {
			return nil, err
		}
		n, err := parseNode(line)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrManifest, pn.Path, err)
		}
		if err := order.add(&n); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrManifest, pn.Path, err)
		}
		if n.Type == NodeRegular {
			if r.fileSum+n.Size < r.fileSum {
				return nil, fmt.Errorf("%w: the file sizes add up to more than 64 bits", ErrManifest)
			}
			r.fileSum += n.Size
		}
		pn.Nodes = append(pn.Nodes, n)
	}
	r.entries += count
	if order.size != pn.NarSize {
		return nil, fmt.Errorf("%w: %s: its entries make a NAR of %d bytes, the path line says %d", ErrManifest, pn.Path, order.size, pn.NarSize)
	}
	return pn, nil
}

func (r *ManifestReader) end() error {
	if _, err := r.br.ReadByte(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("%w: data after the \"end\" line", ErrManifest)
		}
		return fmt.Errorf("reading manifest: %w", err)
	}
	for _, c := range []struct {
		what       string
		said, seen uint64
	}{{"paths", r.h.Paths, r.paths}, {"NAR bytes", r.h.NarBytes, r.narBytes}, {"entries", r.h.Entries, r.entries}, {"file bytes", r.h.FileBytes, r.fileSum}} {
		if c.said != c.seen {
			return fmt.Errorf("%w: header says %d %s, found %d", ErrManifest, c.said, c.what, c.seen)
		}
	}
	return io.EOF
}

// parsePathLine reads "path <store path> sha256:<nix32> <NAR size> <entries>".
func parsePathLine(storeDir, line string) (*PathNodes, uint64, error) {
	rest, ok := strings.CutPrefix(line, "path ")
	f := strings.Split(rest, " ")
	if !ok || len(f) != 4 {
		return nil, 0, fmt.Errorf("%w: expected \"path <store path> sha256:<hash> <NAR size> <entries>\" or \"end\", got %q", ErrManifest, clip(line))
	}
	e, err := parseEntry(storeDir, strings.Join(f[:3], " "))
	if err != nil {
		return nil, 0, err
	}
	count, err := parseNumber(e.Path+": entries", f[3])
	if err != nil {
		return nil, 0, err
	}
	if count == 0 {
		return nil, 0, fmt.Errorf("%w: %s has no entries", ErrManifest, e.Path)
	}
	return &PathNodes{Entry: e}, count, nil
}

// parseNode reads one entry line.
func parseNode(line string) (Node, error) {
	var n Node
	f := strings.Split(line, " ")
	var err error
	switch {
	case f[0] == "d" && len(f) == 2:
		n.Type = NodeDirectory
		n.Path, err = parseNodePath(f[1])
	case (f[0] == "r" || f[0] == "x") && len(f) == 5:
		n.Type, n.Executable = NodeRegular, f[0] == "x"
		if n.Size, err = parseNumber("size", f[1]); err == nil && n.Size > maxFileSize {
			err = fmt.Errorf("file size %d is too large", n.Size)
		}
		if err == nil {
			err = parseHex(n.SHA256[:], "sha256", f[2])
		}
		if err == nil {
			err = parseHex(n.Verity[:], "fs-verity digest", f[3])
		}
		if err == nil {
			n.Path, err = parseNodePath(f[4])
		}
	case f[0] == "l" && len(f) == 3:
		n.Type = NodeSymlink
		if n.Path, err = parseNodePath(f[1]); err == nil {
			n.Target, err = unescapeField(f[2])
		}
	default:
		return n, fmt.Errorf("expected an entry (d, r, x or l) or \"path\", got %q", clip(line))
	}
	if err != nil {
		return n, fmt.Errorf("%q: %w", clip(line), err)
	}
	return n, nil
}

func parseNodePath(s string) (string, error) {
	p, err := unescapeField(s)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", errors.New("empty path")
	}
	return p, nil
}

// parseHex reads exactly len(dst) bytes as lower-case hex. It runs twice
// for every file at boot, so it allocates nothing.
func parseHex(dst []byte, what, s string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("invalid %s %q", what, clip(s))
	}
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi > 0xf || lo > 0xf {
			return fmt.Errorf("invalid %s %q", what, clip(s))
		}
		dst[i] = hi<<4 | lo
	}
	return nil
}

// hexValue maps a lower-case hex digit to its value, anything else to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// ReadManifestV2 reads a whole version 2 manifest into memory, for tools
// and tests; the boot check streams with ManifestReader instead.
func ReadManifestV2(r io.Reader) (Header, []PathNodes, error) {
	mr, err := NewManifestReader(r)
	if err != nil {
		return Header{}, nil, err
	}
	var out []PathNodes
	for {
		pn, err := mr.Next()
		if err == io.EOF {
			return mr.Header(), out, nil
		}
		if err != nil {
			return Header{}, nil, err
		}
		out = append(out, *pn)
	}
}

// nixHash renders a NAR hash as the manifest writes it.
func nixHash(h [32]byte) string { return "sha256:" + nixbase32.EncodeToString(h[:]) }

// ManifestFileVersion reads the version from a manifest's first line.
func ManifestFileVersion(r io.Reader) (int, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, 64), 64).ReadString('\n')
	v, ok := cutPrefixSuffix(line, ManifestMagic+" ", "\n")
	if err != nil || !ok {
		return 0, fmt.Errorf("%w: not a closure manifest (first line must be %q)", ErrManifest, ManifestMagic+" <version>")
	}
	n, err := strconv.Atoi(v)
	if err != nil || (n != ManifestVersion && n != ManifestVersion2) {
		return 0, fmt.Errorf("%w %q (this program reads versions %d and %d)", ErrManifestVersion, clip(v), ManifestVersion, ManifestVersion2)
	}
	return n, nil
}

func cutPrefixSuffix(s, prefix, suffix string) (string, bool) {
	if len(s) < len(prefix)+len(suffix) || s[:len(prefix)] != prefix || s[len(s)-len(suffix):] != suffix {
		return "", false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}
