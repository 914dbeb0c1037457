package storeverity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

// ErrNeedsV2 reports a manifest without per-file fs-verity digests.
var ErrNeedsV2 = errors.New("fs-verity needs a manifest with per-file digests (version 2: manifest --format v2)")

// CheckOptions configures CheckFile.
type CheckOptions struct {
	closure.FileCheckOptions
	// HashUnenabled hashes a file without fs-verity in full (its fs-verity
	// digest computed from its contents) instead of failing it; such files
	// are listed in the result. So are all files of a filesystem that has
	// no fs-verity at all.
	HashUnenabled bool
}

// CheckResult is what CheckFile found.
type CheckResult struct {
	*closure.Report
	Digest closure.ManifestDigest // of the manifest file
	Hashed []string               // files without fs-verity, hashed in full (HashUnenabled), sorted
}

// CheckFile checks the store under opts.Root against the version 2
// manifest at path by fs-verity digests: no contents are read (but those of
// files listed in Hashed). With want, the manifest's digest is compared
// before it is parsed or the store read (closure.ErrDigestMismatch). A
// version 1 manifest is refused (ErrNeedsV2) before the store is read.
func CheckFile(ctx context.Context, path string, want *closure.ManifestDigest, opts CheckOptions) (*CheckResult, error) {
	if err := needV2(path); err != nil {
		return nil, err
	}
	m := &measurer{hashUnenabled: opts.HashUnenabled, unsupported: opts.HashUnenabled}
	rep, digest, err := run(ctx, path, want, opts.FileCheckOptions, m)
	if err != nil {
		return nil, err
	}
	sort.Strings(m.hashed)
	return &CheckResult{Report: rep, Digest: digest, Hashed: m.hashed}, nil
}

// needV2 refuses a manifest of version 1 up front, with a clear error.
func needV2(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	v, err := closure.ManifestFileVersion(f)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	if v != closure.ManifestVersion2 {
		return fmt.Errorf("manifest %s is version %d: %w", path, v, ErrNeedsV2)
	}
	return nil
}

// run is one pass of the closure check with m measuring the files. A
// manifest that turns out to be version 1 after all (the file was replaced
// after needV2 read it) is ErrNeedsV2, never a pass: its check would have
// hashed NARs, not compared fs-verity digests. A filesystem-wide error m
// kept is returned instead of the cancelled run's.
func run(ctx context.Context, path string, want *closure.ManifestDigest, opts closure.FileCheckOptions, m *measurer) (*closure.Report, closure.ManifestDigest, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.stop = cancel
	version := 0
	started := opts.Started
	opts.Started = func(h closure.Header) {
		version = h.Version
		if started != nil {
			started(h)
		}
	}
	opts.Files = closure.CheckVerity
	opts.MeasureVerity = m.measure
	rep, digest, err := closure.CheckManifestFile(ctx, path, want, opts)
	if fatal := m.fatalErr(); fatal != nil {
		return nil, digest, fatal
	}
	if err != nil {
		return nil, digest, err
	}
	if version != closure.ManifestVersion2 {
		return nil, digest, fmt.Errorf("manifest %s is version %d: %w", path, version, ErrNeedsV2)
	}
	return rep, digest, nil
}
