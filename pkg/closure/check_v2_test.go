package closure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

var (
	v2Once     sync.Once
	v2Manifest []byte
	v2Err      error
)

// recordFixtureV2 records the fixture closure's version 2 manifest from
// the real store, with the NAR hashes Nix registered, once per test run.
func recordFixtureV2(t *testing.T, m *Manifest) []byte {
	t.Helper()
	v2Once.Do(func() {
		var blocks []V2Block
		if blocks, v2Err = RecordV2(context.Background(), m, RecordOptions{}); v2Err != nil {
			return
		}
		var b bytes.Buffer
		v2Err = WriteManifestV2(&b, m.StoreDir, blocks)
		v2Manifest = b.Bytes()
	})
	if v2Err != nil {
		t.Fatal(v2Err)
	}
	return v2Manifest
}

func checkV2(t *testing.T, root string, data []byte, opts CheckOptions) *Report {
	t.Helper()
	mr, err := NewManifestReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	opts.Root = root
	rep, err := CheckV2(context.Background(), mr, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Nix is the oracle: the entries recorded from every path of the fixture
// (odd names, a 255-byte name, tabs, unicode, deep nesting, a single file
// and a symlink as store paths) come from bytes that hash to the narHash
// `nix path-info` reports, and add up to its narSize when read back.
func TestRecordV2ReproducesNixNarHash(t *testing.T) {
	fx := nixtest.Build(t)
	entries, err := ParsePathInfoJSON([]byte(fx.PathInfoJSON))
	if err != nil {
		t.Fatal(err)
	}
	m := mustManifest(t, entries)
	blocks, err := RecordV2(context.Background(), m, RecordOptions{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteManifestV2(&b, m.StoreDir, blocks); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), recordFixtureV2(t, m)) {
		t.Fatal("recording twice gave other bytes")
	}
	var infos []struct {
		Path    string `json:"path"`
		NarSize uint64 `json:"narSize"`
	}
	json.Unmarshal([]byte(fx.PathInfoJSON), &infos)
	h, paths, err := ReadManifestV2(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if int(h.Paths) != len(infos) {
		t.Fatalf("%d paths, Nix has %d", h.Paths, len(infos))
	}
	size := map[string]uint64{}
	for _, in := range infos {
		size[in.Path] = in.NarSize
	}
	for _, pn := range paths {
		if pn.NarSize != size[pn.Path] {
			t.Errorf("%s: NAR size %d, Nix %d", pn.Path, pn.NarSize, size[pn.Path])
		}
	}
	for _, want := range []string{" with%20space\n", " tab%09here\n", " gr%C3%BC%C3%9Fe-%E6%97%A5%E6%9C%AC\n", " ..b\n", " " + strings.Repeat("n", 255) + "\n",
		"d deep/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/d32/d33/d34/d35/d36/d37/d38/d39/d40\n",
		"l . /nowhere/at/all\n", "x 10 "} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("manifest lacks %q", want)
		}
	}
	// Each file's digests are those of its contents (fs-verity: the same
	// computation `fsverity digest` is tested against in package fsverity).
	for _, pn := range paths {
		for _, n := range pn.Nodes {
			if n.Type != NodeRegular {
				continue
			}
			data, err := os.ReadFile(NodeFullPath(pn.Path, n.Path))
			if err != nil {
				t.Fatal(err)
			}
			v, _, _ := fsverity.Digest(bytes.NewReader(data))
			if sha256.Sum256(data) != n.SHA256 || v != n.Verity || uint64(len(data)) != n.Size {
				t.Errorf("%s/%s: digests or size differ from the file's", pn.Path, n.Path)
			}
		}
	}
}

// A store whose contents do not reproduce the NAR hash (or size) Nix has
// for a path gives no manifest.
func TestRecordV2RefusesWhatNixDidNotRegister(t *testing.T) {
	root, m, fx := copyClosure(t)
	odd := findPath(t, fx, "-odd-tree")
	rewrite(t, filepath.Join(root, odd, "seven"), func(b []byte) []byte { b[0] ^= 1; return b })
	_, err := RecordV2(context.Background(), m, RecordOptions{Root: root})
	if !errors.Is(err, ErrNarMismatch) || !strings.Contains(err.Error(), odd) {
		t.Fatalf("tampered copy: err = %v", err)
	}
	wrongSize := *m
	wrongSize.Entries = append([]Entry(nil), m.Entries...)
	wrongSize.Entries[0].NarSize += 8
	if _, err := RecordV2(context.Background(), &wrongSize, RecordOptions{}); !errors.Is(err, ErrNarMismatch) {
		t.Fatalf("wrong NAR size: err = %v", err)
	}
}

func TestPristineClosurePassesV2(t *testing.T) {
	root, m, _ := copyClosure(t)
	data := recordFixtureV2(t, m)
	h, _, _ := ReadManifestV2(bytes.NewReader(data))
	for _, jobs := range []int{1, 3} {
		rep := checkV2(t, root, data, CheckOptions{Jobs: jobs, Metadata: testChecks()})
		if !rep.OK() {
			t.Fatalf("problems: %v", rep.Problems)
		}
		if rep.Paths != len(m.Entries) || rep.Bytes != h.FileBytes || rep.Files == 0 {
			t.Fatalf("report %+v, header %+v", rep, h)
		}
	}
}

// Round 1's tamper matrix against a version 2 manifest: every problem names
// the exact entry inside the store path, with what differed.
func TestTamperMatrixV2(t *testing.T) {
	runTamperMatrix(t, true, func(t *testing.T, root string, m *Manifest) *Report {
		return checkV2(t, root, recordFixtureV2(t, m), CheckOptions{Metadata: testChecks()})
	})
}

// Every difference is reported, in manifest order then NAR order, however
// many workers ran.
func TestCheckV2ReportsEveryProblemInOrder(t *testing.T) {
	root, m, fx := copyClosure(t)
	data := recordFixtureV2(t, m)
	odd := filepath.Join(root, findPath(t, fx, "-odd-tree"))
	os.Chmod(odd+"/seven", 0o644)
	os.Chmod(odd+"/eight", 0o644)
	os.Chmod(odd+"/sub/run", 0o444)
	os.Remove(filepath.Join(root, findPath(t, fx, "-leaf-exe")))
	var first []Problem
	for _, jobs := range []int{1, 4} {
		rep := checkV2(t, root, data, CheckOptions{Jobs: jobs, Metadata: testChecks()})
		if len(rep.Problems) != 4 || rep.FailedPaths() != 2 {
			t.Fatalf("jobs %d: problems: %v", jobs, rep.Problems)
		}
		if first == nil {
			first = rep.Problems
		}
		for i := range first {
			if first[i] != rep.Problems[i] {
				t.Fatalf("order differs with %d jobs: %v vs %v", jobs, first, rep.Problems)
			}
		}
	}
}

// The fs-verity mode takes its digests from MeasureVerity and reads no
// contents; without one it refuses to run.
func TestCheckV2VerityMode(t *testing.T) {
	root, m, fx := copyClosure(t)
	data := recordFixtureV2(t, m)
	mr, _ := NewManifestReader(bytes.NewReader(data))
	if _, err := CheckV2(context.Background(), mr, CheckOptions{Root: root, Files: CheckVerity}); !errors.Is(err, ErrNoMeasure) {
		t.Fatalf("no MeasureVerity: err = %v", err)
	}
	// Stands in for FS_IOC_MEASURE_VERITY, which this machine's kernel may
	// lack: the digest computed from the file (the VM tests use the kernel).
	measure := func(fd int) ([32]byte, error) {
		d, _, err := fsverity.Digest(fdReader(fd))
		return d, err
	}
	rep := checkV2(t, root, data, CheckOptions{Files: CheckVerity, MeasureVerity: measure, Metadata: testChecks()})
	if !rep.OK() || rep.Bytes != 0 {
		t.Fatalf("pristine: %v, %d bytes read", rep.Problems, rep.Bytes)
	}
	seven := filepath.Join(root, findPath(t, fx, "-odd-tree"), "seven")
	rewrite(t, seven, func(b []byte) []byte { b[0] ^= 1; return b })
	rep = checkV2(t, root, data, CheckOptions{Files: CheckVerity, MeasureVerity: measure, Metadata: testChecks()})
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != KindVerity || !strings.HasSuffix(rep.Problems[0].Path, "/seven") {
		t.Fatalf("tampered: %v", rep.Problems)
	}
}

// fdReader reads a descriptor it does not own (os.NewFile would close it).
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	n, err := syscall.Read(int(r), p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return max(n, 0), err
}

// CheckManifestFile reads both versions, compares the digest first, and
// refuses a v2 manifest cut short part-way through the check.
func TestCheckManifestFile(t *testing.T) {
	root, m, _ := copyClosure(t)
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1")
	v2 := filepath.Join(dir, "v2")
	os.WriteFile(v1, m.Marshal(), 0o444)
	data := recordFixtureV2(t, m)
	os.WriteFile(v2, data, 0o444)
	opts := FileCheckOptions{CheckOptions: CheckOptions{Root: root, Metadata: testChecks()}}
	for _, p := range []string{v1, v2} {
		var started Header
		opts.Started = func(h Header) { started = h }
		want, _ := os.ReadFile(p)
		d := DigestOf(want)
		rep, got, err := CheckManifestFile(context.Background(), p, &d, opts)
		if err != nil || !rep.OK() || got != d || started.Paths != uint64(len(m.Entries)) {
			t.Fatalf("%s: %v %v %+v", p, err, rep, started)
		}
		var other ManifestDigest
		if _, _, err := CheckManifestFile(context.Background(), p, &other, opts); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("%s: wrong digest: %v", p, err)
		}
	}
	cut := filepath.Join(dir, "cut")
	os.WriteFile(cut, data[:len(data)-10], 0o444)
	if _, _, err := CheckManifestFile(context.Background(), cut, nil, opts); !errors.Is(err, ErrManifest) {
		t.Fatalf("cut manifest: %v", err)
	}
}
