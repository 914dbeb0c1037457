package storeverity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

// kernelDirEnv names a directory on a filesystem with fs-verity (ext4 -O
// verity, read-write). This machine's kernel has none: tests/vm
// (TestFSVerityKernel) runs this test binary in a VM with it set.
const kernelDirEnv = "NBS_FSVERITY_DIR"

const storePath = "/nix/store/0zyjz9fv6bmlhm33pngnlqjiapi17wpn-demo"

// fixtureFiles are the store path's regular files: empty, small, one block
// and more than one tree level.
var fixtureFiles = map[string][]byte{
	"empty":     nil,
	"hello":     []byte("hello\n"),
	"block":     bytes.Repeat([]byte{7}, 4096),
	"sub/big":   bytes.Repeat([]byte("0123456789abcdef"), 129*4096/16+3),
	"sub/other": []byte("other"),
}

// fixture is a store under root holding storePath, and its manifests of
// both versions.
type fixture struct {
	root, v1, v2 string
	digest       closure.ManifestDigest
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{root: filepath.Join(dir, "root")}
	for name, data := range fixtureFiles {
		p := filepath.Join(f.root, storePath, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	entries, err := closure.Rehash(ctx, []string{storePath}, closure.RehashOptions{Root: f.root})
	if err != nil {
		t.Fatal(err)
	}
	m, err := closure.NewManifest(closure.DefaultStoreDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	f.v1 = filepath.Join(dir, "m1")
	if err := os.WriteFile(f.v1, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := closure.RecordV2(ctx, m, closure.RecordOptions{Root: f.root})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := closure.WriteManifestV2(&b, closure.DefaultStoreDir, blocks); err != nil {
		t.Fatal(err)
	}
	f.v2 = filepath.Join(dir, "m2")
	if err := os.WriteFile(f.v2, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.digest = closure.DigestOf(b.Bytes())
	return f
}

// options check contents and structure only: metadata is the closure
// package's, and the fixture is made by whoever runs the test.
func (f *fixture) options() closure.FileCheckOptions {
	return closure.FileCheckOptions{CheckOptions: closure.CheckOptions{Root: f.root, Jobs: 2,
		Metadata: closure.MetadataChecks{SkipMode: true, SkipSpecialBits: true, SkipMtime: true, SkipOwner: true, SkipXattrs: true}}}
}

// rewrite replaces a store file by a new one with data (no fs-verity),
// mtime 1 as in a store.
func (f *fixture) rewrite(t *testing.T, name string, data []byte) {
	t.Helper()
	p := filepath.Join(f.root, storePath, name)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
}

// hasVerity says whether dir's filesystem can enable fs-verity.
func hasVerity(t *testing.T, dir string) bool {
	t.Helper()
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return !errors.Is(fsverity.Enable(f), fsverity.ErrUnsupported)
}

func TestNeedsV2(t *testing.T) {
	f := newFixture(t, t.TempDir())
	if _, err := CheckFile(context.Background(), f.v1, nil, CheckOptions{FileCheckOptions: f.options()}); !errors.Is(err, ErrNeedsV2) {
		t.Errorf("CheckFile: %v, want ErrNeedsV2", err)
	}
	if _, err := Enable(context.Background(), f.v1, nil, f.options()); !errors.Is(err, ErrNeedsV2) {
		t.Errorf("Enable: %v, want ErrNeedsV2", err)
	}
}

func TestDigestMismatch(t *testing.T) {
	f := newFixture(t, t.TempDir())
	var other closure.ManifestDigest
	if _, err := CheckFile(context.Background(), f.v2, &other, CheckOptions{FileCheckOptions: f.options(), HashUnenabled: true}); !errors.Is(err, closure.ErrDigestMismatch) {
		t.Errorf("CheckFile: %v, want ErrDigestMismatch", err)
	}
	if _, err := Enable(context.Background(), f.v2, &other, f.options()); !errors.Is(err, closure.ErrDigestMismatch) {
		t.Errorf("Enable: %v, want ErrDigestMismatch", err)
	}
}

// Where the filesystem has no fs-verity (this machine), the check fails
// at once, Enable refuses before enabling anything, and HashUnenabled
// hashes every file and names it.
func TestWithoutFSVerity(t *testing.T) {
	dir := t.TempDir()
	if hasVerity(t, dir) {
		t.Skip("this filesystem has fs-verity: TestKernel covers it")
	}
	f := newFixture(t, dir)
	ctx := context.Background()
	if _, err := CheckFile(ctx, f.v2, &f.digest, CheckOptions{FileCheckOptions: f.options()}); !errors.Is(err, fsverity.ErrUnsupported) {
		t.Errorf("CheckFile: %v, want ErrUnsupported", err)
	}
	if _, err := Enable(ctx, f.v2, &f.digest, f.options()); !errors.Is(err, fsverity.ErrUnsupported) {
		t.Errorf("Enable: %v, want ErrUnsupported", err)
	}

	res, err := CheckFile(ctx, f.v2, &f.digest, CheckOptions{FileCheckOptions: f.options(), HashUnenabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Hashed) != len(fixtureFiles) {
		t.Fatalf("problems %v, hashed %v", res.Problems, res.Hashed)
	}
	for i, name := range []string{"block", "empty", "hello", "sub/big", "sub/other"} {
		if !strings.HasSuffix(res.Hashed[i], storePath+"/"+name) {
			t.Errorf("hashed[%d] = %q, want the file %s", i, res.Hashed[i], name)
		}
	}

	f.rewrite(t, "sub/big", append(bytes.Clone(fixtureFiles["sub/big"][:4096*100]), 'x'))
	res, err = CheckFile(ctx, f.v2, &f.digest, CheckOptions{FileCheckOptions: f.options(), HashUnenabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || !hasProblem(res.Problems, storePath+"/sub/big") {
		t.Fatalf("a changed file is not named: %v", res.Problems)
	}
}

func hasProblem(ps []closure.Problem, path string) bool {
	for _, p := range ps {
		if p.Path == path {
			return true
		}
	}
	return false
}

// TestKernel needs a filesystem with fs-verity (NBS_FSVERITY_DIR).
func TestKernel(t *testing.T) {
	base := os.Getenv(kernelDirEnv)
	if base == "" {
		base = t.TempDir()
		if !hasVerity(t, base) {
			t.Skipf("no fs-verity here; tests/vm TestFSVerityKernel runs this test in a VM with %s set", kernelDirEnv)
		}
	}
	dir, err := os.MkdirTemp(base, "storeverity-")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := newFixture(t, dir)

	// Contents that do not match: nothing is enabled, not even on the
	// files that do match.
	good := fixtureFiles["hello"]
	f.rewrite(t, "hello", []byte("hellO\n"))
	res, err := Enable(ctx, f.v2, &f.digest, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || res.Enabled != 0 || !hasProblem(res.Report.Problems, storePath+"/hello") {
		t.Fatalf("enabled %d, problems %v", res.Enabled, res.Report.Problems)
	}
	if _, err := measure(t, f, "sub/big"); !errors.Is(err, fsverity.ErrNotEnabled) {
		t.Fatalf("a matching file was enabled while another did not match: %v", err)
	}
	f.rewrite(t, "hello", good)

	// Enable, then again: the second run enables nothing.
	res, err = Enable(ctx, f.v2, &f.digest, f.options())
	if err != nil || !res.OK() || res.Enabled != len(fixtureFiles) || res.Files != len(fixtureFiles) {
		t.Fatalf("Enable: %+v %v", res, err)
	}
	res, err = Enable(ctx, f.v2, &f.digest, f.options())
	if err != nil || !res.OK() || res.Enabled != 0 {
		t.Fatalf("second Enable: %+v %v", res, err)
	}
	check := func(hash bool) *CheckResult {
		t.Helper()
		res, err := CheckFile(ctx, f.v2, &f.digest, CheckOptions{FileCheckOptions: f.options(), HashUnenabled: hash})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := check(false); !res.OK() || len(res.Hashed) != 0 {
		t.Fatalf("check: %v, hashed %v", res.Problems, res.Hashed)
	}
	// Enabling kept the store's mtime 1 (ext4 sets it to now).
	for name := range fixtureFiles {
		if fi, err := os.Stat(filepath.Join(f.root, storePath, name)); err != nil || fi.ModTime().Unix() != 1 {
			t.Errorf("%s: mtime %v after Enable (%v), want 1", name, fi.ModTime(), err)
		}
	}

	// The same contents without fs-verity: failed, or hashed and named.
	f.rewrite(t, "hello", good)
	if res := check(false); res.OK() || !hasProblem(res.Problems, storePath+"/hello") {
		t.Fatalf("a file without fs-verity passed: %v", res.Problems)
	}
	if res := check(true); !res.OK() || len(res.Hashed) != 1 || !strings.HasSuffix(res.Hashed[0], storePath+"/hello") {
		t.Fatalf("hashed: %v %v", res.Problems, res.Hashed)
	}

	// Another file with its own valid fs-verity.
	f.rewrite(t, "sub/other", []byte("OTHER"))
	o, err := os.Open(filepath.Join(f.root, storePath, "sub/other"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := fsverity.Enable(o); err != nil {
		t.Fatal(err)
	}
	if res := check(true); res.OK() || !hasProblem(res.Problems, storePath+"/sub/other") {
		t.Fatalf("a replaced file with fs-verity passed: %v", res.Problems)
	}
}

func measure(t *testing.T, f *fixture, name string) ([32]byte, error) {
	t.Helper()
	file, err := os.Open(filepath.Join(f.root, storePath, name))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	return fsverity.Measure(file)
}
