package storeverity

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

// EnableResult is what Enable did.
type EnableResult struct {
	// Report is the content check when it failed (nothing was enabled),
	// else the check by fs-verity digests after enabling.
	Report   *closure.Report
	Digest   closure.ManifestDigest
	Enabled  int // files fs-verity was enabled on by this run
	Files    int // regular files in the closure
	Duration time.Duration
}

// OK says whether every file of the closure now has fs-verity with the
// manifest's digest.
func (r *EnableResult) OK() bool { return r.Report.OK() }

// Enable turns fs-verity on (SHA-256, 4096-byte blocks, no salt) for every
// regular file of the closure under opts.Root that lacks it, after checking
// that every file's contents match the version 2 manifest at path. Nothing
// is enabled unless the whole closure matches. Files that have fs-verity
// are measured, not read, so a second run reads nothing and enables
// nothing. Metadata (modes, owners, times, xattrs) is check's business,
// not this one's: opts.Metadata is used as given.
//
// A filesystem without fs-verity (fsverity.ErrUnsupported: ext4 needs
// -O verity) or mounted read-only (fsverity.ErrReadOnlyFS) is an error,
// found before any file is read.
func Enable(ctx context.Context, path string, want *closure.ManifestDigest, opts closure.FileCheckOptions) (*EnableResult, error) {
	start := time.Now()
	if err := needV2(path); err != nil {
		return nil, err
	}
	if err := writable(opts.Root); err != nil {
		return nil, err
	}
	// Pass 1: contents against the manifest; files with fs-verity measured.
	rep, digest, err := run(ctx, path, want, opts, &measurer{hashUnenabled: true})
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return &EnableResult{Report: rep, Digest: digest, Files: rep.Files, Duration: time.Since(start)}, nil
	}
	// Pass 2: enable where missing, and measure everything again; the
	// manifest must still be the one checked.
	m := &measurer{enable: true}
	rep, _, err = run(ctx, path, &digest, opts, m)
	if err != nil {
		return nil, err
	}
	return &EnableResult{Report: rep, Digest: digest, Enabled: int(m.enabled.Load()), Files: rep.Files, Duration: time.Since(start)}, nil
}

// writable refuses a store on a read-only mount before anything is read.
func writable(root string) error {
	if root == "" {
		root = "/"
	}
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(root, closure.DefaultStoreDir), &st); err != nil {
		return nil // the check itself reports a missing store, with its own wording
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return fmt.Errorf("%s: %w", filepath.Join(root, closure.DefaultStoreDir), fsverity.ErrReadOnlyFS)
	}
	return nil
}
