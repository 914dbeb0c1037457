package esp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// The digest record: one per partition, naming for each file this tool
// wrote there its XXH64 digest and size, so that a later run can tell an
// intact file by hashing it at memory speed instead of re-checking its
// signature. It only saves work: it never condemns a file by itself (a
// file it does not vouch for gets the full check), and it vouches for
// nothing against an attacker, who could rewrite it as easily as the file
// (Secure Boot is what checks the files then).
//
// Format, version 1, text:
//
//	nix-uki-digests 1
//	xxh64:<16 lowercase hex digits> <size in bytes> <key>
//	...
//
// one line per file, sorted by key, each ending in "\n"; a key is a
// partition-relative path as DigestKey makes it (lowercase, no boot
// counter).
const (
	// DigestRecordPath is where the record is on each partition.
	DigestRecordPath = "loader/nix-uki-digests"
	// MaxDigestRecord bounds the record's size; a larger file is not read.
	MaxDigestRecord = 1 << 20

	digestHeader = "nix-uki-digests 1\n"
	digestPrefix = "xxh64:"
	digestMagic  = "nix-uki-digests "
)

// ErrDigestRecord is the error of a record that does not parse.
var ErrDigestRecord = errors.New("malformed digest record")

// Digest is a file's XXH64 digest and size.
type Digest struct {
	Sum  uint64
	Size int64
}

// DigestRecord maps keys (DigestKey) to digests.
type DigestRecord map[string]Digest

// DigestKey is the record's key for a file: FAT compares names without
// case, and systemd-boot renames an entry to count its boots without
// changing its contents.
func DigestKey(name string) string {
	return strings.ToLower(StripCounter(name))
}

// Marshal writes the record: the same record, the same bytes.
func (r DigestRecord) Marshal() []byte {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(digestHeader)
	for _, k := range keys {
		d := r[k]
		fmt.Fprintf(&b, "%s%016x %d %s\n", digestPrefix, d.Sum, d.Size, k)
	}
	return b.Bytes()
}

// ParseDigestRecord reads a record. Anything but a record Marshal could
// have written is an error wrapping ErrDigestRecord (another version, a
// malformed or unsorted line, a duplicate key, more than MaxDigestRecord
// bytes); callers then ignore the record as a whole.
func ParseDigestRecord(data []byte) (DigestRecord, error) {
	if len(data) > MaxDigestRecord {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrDigestRecord, MaxDigestRecord)
	}
	s := string(data)
	first, rest, ok := strings.Cut(s, "\n")
	if v, magic := strings.CutPrefix(first, digestMagic); ok && magic && first+"\n" != digestHeader {
		return nil, fmt.Errorf("%w: version %.20q, understood: 1", ErrDigestRecord, v)
	}
	if !ok || first+"\n" != digestHeader {
		return nil, fmt.Errorf("%w: no %q line", ErrDigestRecord, strings.TrimSuffix(digestHeader, "\n"))
	}
	s = rest
	if s != "" && !strings.HasSuffix(s, "\n") {
		return nil, fmt.Errorf("%w: last line unterminated", ErrDigestRecord)
	}
	r := DigestRecord{}
	prev := ""
	for n := 2; s != ""; n++ {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		k, d, err := parseDigestLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrDigestRecord, n, err)
		}
		if _, dup := r[k]; dup {
			return nil, fmt.Errorf("%w: line %d: %q again", ErrDigestRecord, n, k)
		}
		if k < prev {
			return nil, fmt.Errorf("%w: line %d: %q after %q", ErrDigestRecord, n, k, prev)
		}
		r[k], prev = d, k
	}
	return r, nil
}

// parseDigestLine reads "xxh64:HEX SIZE KEY", each field in the one form
// Marshal writes.
func parseDigestLine(line string) (string, Digest, error) {
	sum, rest, ok := strings.Cut(line, " ")
	size, key, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 {
		return "", Digest{}, errors.New("not three fields")
	}
	hex, ok := strings.CutPrefix(sum, digestPrefix)
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return "", Digest{}, fmt.Errorf("digest %.30q is not xxh64: and 16 lowercase hex digits", sum)
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return "", Digest{}, fmt.Errorf("digest %q is not hex", hex)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return "", Digest{}, fmt.Errorf("size %.30q is not a byte count", size)
	}
	if !validKey(key) {
		return "", Digest{}, fmt.Errorf("%.100q is not a partition path as the record names one", key)
	}
	return key, Digest{Sum: v, Size: n}, nil
}

// validKey: a clean relative path, in DigestKey's form, without spaces or
// control characters (nothing this tool names has them).
func validKey(k string) bool {
	if k == "" || k == "." || path.Clean(k) != k || strings.HasPrefix(k, "/") || k == ".." || strings.HasPrefix(k, "../") {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return DigestKey(k) == k
}

// readDigestRecord reads the partition's record, bounded. It returns the
// bytes found (nil if there is no record) and the record, nil when it is
// missing, unreadable or malformed: then every file gets the full check.
func readDigestRecord(f FS) ([]byte, DigestRecord) {
	fi, err := f.Stat(DigestRecordPath)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	if fi.Size() > MaxDigestRecord {
		return []byte{}, nil // there, and not ours
	}
	r, err := f.Open(DigestRecordPath)
	if err != nil {
		return []byte{}, nil
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxDigestRecord+1))
	if err != nil {
		return []byte{}, nil
	}
	rec, err := ParseDigestRecord(data)
	if err != nil {
		return data, nil
	}
	return data, rec
}

// digestFile hashes a regular file, streaming.
func digestFile(f FS, name string) (Digest, error) {
	fi, err := f.Stat(name)
	if err != nil {
		return Digest{}, err
	}
	if !fi.Mode().IsRegular() {
		return Digest{}, fmt.Errorf("%s: %w", name, fs.ErrInvalid)
	}
	r, err := f.Open(name)
	if err != nil {
		return Digest{}, err
	}
	defer r.Close()
	h := xxhash.New()
	// Large reads: at XXH64's speed the system calls would show.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, make([]byte, 256<<10))
	if err != nil {
		return Digest{}, err
	}
	return Digest{Sum: h.Sum64(), Size: n}, nil
}

// recordBound bounds the size of the record of wants.
func recordBound(wants []Want) int64 {
	n := int64(len(digestHeader))
	for _, w := range wants {
		if w.Recorded && w.Content == nil {
			// "xxh64:" 16 hex, a space, at most 19 digits, a space, the
			// key and the newline.
			n += int64(len(digestPrefix)+16+1+19+1+1) + int64(len(w.Path))
		}
	}
	return n
}
