package install

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
	"github.com/nix-boot-security/nix-boot-security/pkg/storeverity"
)

// ErrFSVerity: closureCheck.fsverity is on and the store's filesystem
// cannot take fs-verity (no feature, mounted read-only). Nothing was
// written to a partition.
var ErrFSVerity = errors.New("fs-verity on the store")

// verityResult is what enabling fs-verity did over one entry's closure.
type verityResult struct {
	enabled, files int
}

// probeFSVerity stops an install with fs-verity asked for before any
// closure is hashed when the store's filesystem cannot take it: the
// default generation's toplevel is probed (storeverity.Probe).
func (in *installer) probeFSVerity(toplevel string) error {
	root := in.opts.StoreRoot
	if root == "" {
		root = "/"
	}
	if err := storeverity.Probe(filepath.Join(root, toplevel)); err != nil {
		return fmt.Errorf("%w: %w; nothing was changed", ErrFSVerity, err)
	}
	return nil
}

// writeManifestV2 writes the entry's version 2 closure manifest to p and
// returns its digest; the file is read back by the image composition, so
// the manifest is never held in memory twice.
func (in *installer) writeManifestV2(ctx context.Context, e *entry, p string) (closure.ManifestDigest, error) {
	var d closure.ManifestDigest
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return d, err
	}
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<16)
	if err := closureManifestV2(ctx, bw, e.spec.Toplevel, in.opts.ManifestFrom, in.opts.StoreDir, in.opts.StoreRoot); err != nil {
		return d, err
	}
	if err := bw.Flush(); err != nil {
		return d, err
	}
	if err := f.Close(); err != nil {
		return d, err
	}
	h.Sum(d[:0])
	return d, nil
}

// enableFSVerity turns fs-verity on over the entry's closure, checking
// every file against the manifest just written first (storeverity.Enable:
// idempotent, files that have it are measured, not read). Metadata is left
// to the check at boot, as `nix-closure-verify fsverity enable` leaves it.
// A filesystem that cannot take fs-verity is kept as the run's fatal error:
// every other entry would fail the same way, and the install must stop
// before writing anything.
func (in *installer) enableFSVerity(ctx context.Context, e *entry, manifest string, digest closure.ManifestDigest) error {
	opts := closure.FileCheckOptions{CheckOptions: closure.CheckOptions{Root: in.opts.StoreRoot,
		Metadata: closure.MetadataChecks{SkipMode: true, SkipSpecialBits: true, SkipMtime: true, SkipOwner: true, SkipXattrs: true}}}
	res, err := storeverity.Enable(ctx, manifest, &digest, opts)
	if err != nil {
		if errors.Is(err, fsverity.ErrUnsupported) || errors.Is(err, fsverity.ErrReadOnlyFS) {
			in.setFatal(fmt.Errorf("%w: %w; nothing was changed", ErrFSVerity, err))
		}
		return fmt.Errorf("enabling fs-verity: %w", err)
	}
	if !res.OK() {
		return fmt.Errorf("enabling fs-verity: the store does not match the manifest just made of it: %s", res.Report.Summary())
	}
	e.verity = &verityResult{enabled: res.Enabled, files: res.Files}
	return nil
}

func (in *installer) setFatal(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.fatal == nil {
		in.fatal = err
	}
}

func (in *installer) fatalErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.fatal
}
