package esp_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/faultfs"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
)

func TestDigestRecordRoundTrip(t *testing.T) {
	r := esp.DigestRecord{
		"efi/linux/b.efi": {Sum: 0xffffffffffffffff, Size: 0},
		"efi/linux/a.efi": {Sum: 0x0123456789abcdef, Size: 9223372036854775807},
	}
	want := "nix-uki-digests 1\n" +
		"xxh64:0123456789abcdef 9223372036854775807 efi/linux/a.efi\n" +
		"xxh64:ffffffffffffffff 0 efi/linux/b.efi\n"
	if got := string(r.Marshal()); got != want || string(r.Marshal()) != got {
		t.Fatalf("Marshal:\n%s", got)
	}
	back, err := esp.ParseDigestRecord([]byte(want))
	if err != nil || len(back) != 2 || back["efi/linux/a.efi"] != r["efi/linux/a.efi"] || back["efi/linux/b.efi"] != r["efi/linux/b.efi"] {
		t.Fatalf("parsed %v, %v", back, err)
	}
	if got := string(esp.DigestRecord{}.Marshal()); got != "nix-uki-digests 1\n" {
		t.Fatalf("empty record %q", got)
	}
	if got := esp.DigestKey("EFI/Linux/nixos-generation-1-ABC+2-1.efi"); got != "efi/linux/nixos-generation-1-abc.efi" {
		t.Errorf("DigestKey: %q", got)
	}
}

func TestParseDigestRecordErrors(t *testing.T) {
	const head = "nix-uki-digests 1\n"
	const line = "xxh64:0123456789abcdef 10 efi/linux/a.efi\n"
	for _, tc := range []struct{ name, data, text string }{
		{"empty file", "", "no \"nix-uki-digests 1\" line"},
		{"other file", "default x.efi\n", "no \"nix-uki-digests 1\" line"},
		{"other version", "nix-uki-digests 2\n" + line, "version \"2\", understood: 1"},
		{"header unterminated", "nix-uki-digests 1", "no \"nix-uki-digests 1\" line"},
		{"last line unterminated", head + strings.TrimSuffix(line, "\n"), "unterminated"},
		{"empty line", head + "\n", "not three fields"},
		{"two fields", head + "xxh64:0123456789abcdef 10\n", "not three fields"},
		{"other hash", head + "sha256:0123456789abcdef 10 efi/linux/a.efi\n", "16 lowercase hex"},
		{"short digest", head + "xxh64:0123456789abcde 10 efi/linux/a.efi\n", "16 lowercase hex"},
		{"uppercase digest", head + "xxh64:0123456789ABCDEF 10 efi/linux/a.efi\n", "16 lowercase hex"},
		{"not hex", head + "xxh64:0123456789abcdeg 10 efi/linux/a.efi\n", "not hex"},
		{"negative size", head + "xxh64:0123456789abcdef -1 efi/linux/a.efi\n", "not a byte count"},
		{"plus size", head + "xxh64:0123456789abcdef +1 efi/linux/a.efi\n", "not a byte count"},
		{"leading zero", head + "xxh64:0123456789abcdef 010 efi/linux/a.efi\n", "not a byte count"},
		{"size beyond int64", head + "xxh64:0123456789abcdef 9223372036854775808 efi/linux/a.efi\n", "not a byte count"},
		{"two spaces", head + "xxh64:0123456789abcdef  10 efi/linux/a.efi\n", "not a byte count"},
		{"uppercase key", head + "xxh64:0123456789abcdef 10 EFI/Linux/a.efi\n", "not a partition path"},
		{"key with a counter", head + "xxh64:0123456789abcdef 10 efi/linux/a+3.efi\n", "not a partition path"},
		{"absolute key", head + "xxh64:0123456789abcdef 10 /efi/linux/a.efi\n", "not a partition path"},
		{"key escaping", head + "xxh64:0123456789abcdef 10 ../a.efi\n", "not a partition path"},
		{"key unclean", head + "xxh64:0123456789abcdef 10 efi//a.efi\n", "not a partition path"},
		{"key with a space", head + "xxh64:0123456789abcdef 10 efi/a b.efi\n", "not a partition path"},
		{"key with CR", head + "xxh64:0123456789abcdef 10 efi/a.efi\r\n", "not a partition path"},
		{"duplicate key", head + line + line, "again"},
		{"unsorted", head + "xxh64:0123456789abcdef 10 efi/linux/b.efi\n" + line, "after"},
		{"too large", head + strings.Repeat(line, esp.MaxDigestRecord/len(line)+1), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := esp.ParseDigestRecord([]byte(tc.data))
			if !errors.Is(err, esp.ErrDigestRecord) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want ErrDigestRecord with %q", err, tc.text)
			}
		})
	}
}

// recorded is plan with the digest record kept and each entry Recorded,
// counting the calls of the entries' Check.
func recorded(f esp.FS, calls *atomic.Int32, size int, gens ...int) esp.Plan {
	p := plan(f, size, gens...)
	p.Record = true
	for i := range p.Wants {
		w := &p.Wants[i]
		if w.Content != nil {
			continue
		}
		w.Recorded = true
		check := w.Check
		w.Check = func(r esp.ReadFile, size int64) error {
			calls.Add(1)
			return check(r, size)
		}
	}
	return p
}

func readRecord(t *testing.T, root string) esp.DigestRecord {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, esp.DigestRecordPath))
	if err != nil {
		t.Fatal(err)
	}
	r, err := esp.ParseDigestRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func keysOf(r esp.DigestRecord) string {
	var ks []string
	for _, g := range []int{1, 2, 3, 4, 5} {
		if _, ok := r[esp.DigestKey(must(entry(g, 0)))]; ok {
			ks = append(ks, string(rune('0'+g)))
		}
	}
	return strings.Join(ks, ",")
}

func TestDigestRecord(t *testing.T) {
	root := t.TempDir()
	f := &esp.OSFS{Root: root}
	var calls atomic.Int32
	pr, res, err := run(t, recorded(f, &calls, 1000, 1, 2, 3))
	if err != nil || res.Record != esp.Installed || !pr.Changes() {
		t.Fatalf("first install: %v, record %q", err, res.Record)
	}
	if got := keysOf(readRecord(t, root)); got != "1,2,3" {
		t.Fatalf("record holds %s", got)
	}
	recordPath := filepath.Join(root, esp.DigestRecordPath)
	before, _ := os.Stat(recordPath)

	// The record's word: no Check, nothing written.
	calls.Store(0)
	pr, res, err = run(t, recorded(f, &calls, 1000, 1, 2, 3))
	if err != nil || res.Written != 0 || pr.Changes() || res.Record != "" || calls.Load() != 0 {
		t.Fatalf("no-op run: %v, %d bytes, changes %v, record %q, %d checks", err, res.Written, pr.Changes(), res.Record, calls.Load())
	}
	if after, _ := os.Stat(recordPath); !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Error("the record was rewritten")
	}

	// A line that does not match costs a check, not a rewrite; the
	// record gets the right line back.
	good, _ := os.ReadFile(recordPath)
	p2 := esp.DigestKey(must(entry(2, 0)))
	r := readRecord(t, root)
	d := r[p2]
	d.Sum ^= 1
	r[p2] = d
	os.WriteFile(recordPath, r.Marshal(), 0o644)
	calls.Store(0)
	pr, res, err = run(t, recorded(f, &calls, 1000, 1, 2, 3))
	if err != nil || calls.Load() != 1 || res.Record != esp.Updated || res.Written != int64(len(good)) {
		t.Fatalf("stale line: %v, %d checks, record %q, %d bytes written", err, calls.Load(), res.Record, res.Written)
	}
	if st := statuses(pr); st[filepath.Base(must(entry(2, 0)))] != esp.Unchanged {
		t.Fatalf("statuses %v", st)
	}
	if got, _ := os.ReadFile(recordPath); !bytes.Equal(got, good) {
		t.Fatalf("record after a stale line:\n%s", got)
	}

	// A missing, malformed, foreign or other version's record: every
	// file checked, none rewritten, the record written.
	for _, tc := range []struct {
		name   string
		data   []byte
		status esp.Status
	}{
		{"missing", nil, esp.Installed},
		{"malformed", append(append([]byte(nil), good...), "garbage\n"...), esp.Updated},
		{"foreign", []byte("something else's file\n"), esp.Updated},
		{"version 2", []byte(strings.Replace(string(good), "nix-uki-digests 1", "nix-uki-digests 2", 1)), esp.Updated},
	} {
		if tc.data == nil {
			os.Remove(recordPath)
		} else {
			os.WriteFile(recordPath, tc.data, 0o644)
		}
		calls.Store(0)
		pr, res, err = run(t, recorded(f, &calls, 1000, 1, 2, 3))
		if err != nil || calls.Load() != 3 || res.Record != tc.status || res.Written != int64(len(good)) {
			t.Fatalf("%s record: %v, %d checks, record %q, %d bytes written", tc.name, err, calls.Load(), res.Record, res.Written)
		}
		for name, s := range statuses(pr) {
			if s != esp.Unchanged {
				t.Fatalf("%s record: %s %s", tc.name, name, s)
			}
		}
		if got, _ := os.ReadFile(recordPath); !bytes.Equal(got, good) {
			t.Fatalf("%s record rewritten as:\n%s", tc.name, got)
		}
	}

	// A flipped byte: the digest differs, the check fails, the file is
	// repaired and recorded again.
	p3 := filepath.Join(root, must(entry(3, 0)))
	data, _ := os.ReadFile(p3)
	data[500] ^= 1
	os.WriteFile(p3, data, 0o644)
	calls.Store(0)
	pr, res, err = run(t, recorded(f, &calls, 1000, 1, 2, 3))
	if st := statuses(pr); err != nil || st[filepath.Base(p3)] != esp.Repaired || calls.Load() != 1 {
		t.Fatalf("flipped byte: %v, %v, %d checks", err, st, calls.Load())
	}
	if got, _ := os.ReadFile(recordPath); !bytes.Equal(got, good) {
		t.Fatalf("record after a repair:\n%s", got)
	}

	// systemd-boot counts a try: the line still holds.
	p1 := must(entry(1, 0))
	counted := strings.TrimSuffix(p1, ".efi") + "+2-1.efi"
	os.Rename(filepath.Join(root, p1), filepath.Join(root, counted))
	calls.Store(0)
	pr, res, err = run(t, recorded(f, &calls, 1000, 1, 2, 3))
	if err != nil || res.Written != 0 || calls.Load() != 0 || statuses(pr)[filepath.Base(counted)] != esp.Unchanged {
		t.Fatalf("counted entry: %v, %d bytes, %d checks, %v", err, res.Written, calls.Load(), statuses(pr))
	}

	// Removed entries leave the record, new ones enter it.
	if _, _, err = run(t, recorded(f, &calls, 1000, 3, 4, 5)); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(readRecord(t, root)); got != "3,4,5" {
		t.Fatalf("record after gc holds %s", got)
	}
}

// A file the plan does not mark Recorded (systemd-boot's copies) is
// checked at every run whatever the record says, and has no line.
func TestDigestRecordOnlyRecorded(t *testing.T) {
	root := t.TempDir()
	f := &esp.OSFS{Root: root}
	var calls atomic.Int32
	p := func() esp.Plan {
		p := recorded(f, &calls, 1000, 1, 2)
		p.Wants[1].Recorded = false // generation 1
		return p
	}
	if _, _, err := run(t, p()); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(readRecord(t, root)); got != "2" {
		t.Fatalf("record holds %s", got)
	}
	calls.Store(0)
	if _, res, err := run(t, p()); err != nil || res.Written != 0 || calls.Load() != 1 {
		t.Fatalf("second run: %v, %d bytes, %d checks", err, res.Written, calls.Load())
	}
}

// Entries left out for want of space get no line; the record's size is
// in the budget.
func TestDigestRecordLeftOut(t *testing.T) {
	const block = 4096
	root := t.TempDir()
	f := &faultfs.FS{Inner: &esp.OSFS{Root: root}, Capacity: block * 15}
	var calls atomic.Int32
	pr, res, err := run(t, recorded(f, &calls, 3*block, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(pr)
	if st[filepath.Base(must(entry(1, 0)))] != esp.LeftOut || st[filepath.Base(must(entry(3, 0)))] != esp.Installed || res.Record != esp.Installed {
		t.Fatalf("statuses %v, record %q", st, res.Record)
	}
	if got := keysOf(readRecord(t, root)); got != "2,3" {
		t.Fatalf("record holds %s", got)
	}
}
