package closure

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrManifestChanged reports a manifest file whose bytes changed between
// the digest check and the end of its reading.
var ErrManifestChanged = errors.New("manifest changed while it was read")

// FileCheckOptions adds to CheckOptions what checking from a manifest
// file needs.
type FileCheckOptions struct {
	CheckOptions
	// Started, when set, is called with the manifest's header once its
	// digest is checked and before the store is read (for progress).
	Started func(Header)
}

// CheckManifestFile checks the store against the manifest file at path,
// of either version. With want, the file's digest is compared before it is
// parsed or the store read (a mismatch wraps ErrDigestMismatch). A version
// 1 manifest is read into memory (it is small) and checked by Check; a
// version 2 manifest is hashed as a stream, then read again as a stream by
// CheckV2 while being hashed a second time, so it is never held in memory,
// and bytes that changed in between are ErrManifestChanged, never a pass.
func CheckManifestFile(ctx context.Context, path string, want *ManifestDigest, opts FileCheckOptions) (*Report, ManifestDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ManifestDigest{}, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, ManifestDigest{}, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	var got ManifestDigest
	h.Sum(got[:0])
	if want != nil && got != *want {
		return nil, got, fmt.Errorf("%w: manifest %s has digest %s, expected %s", ErrDigestMismatch, path, got, *want)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, got, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	version, err := ManifestFileVersion(f)
	if err != nil {
		return nil, got, fmt.Errorf("manifest %s: %w", path, err)
	}
	if version == ManifestVersion {
		m, d, err := LoadManifest(path, &got)
		if errors.Is(err, ErrDigestMismatch) {
			return nil, d, fmt.Errorf("%w: %w", ErrManifestChanged, err)
		}
		if err != nil {
			return nil, d, err
		}
		if opts.Started != nil {
			opts.Started(Header{Version: ManifestVersion, StoreDir: m.StoreDir, Paths: uint64(len(m.Entries)), NarBytes: m.NarBytes()})
		}
		rep, err := Check(ctx, m, opts.CheckOptions)
		return rep, got, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, got, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	again := sha256.New()
	mr, err := NewManifestReader(io.TeeReader(f, again))
	if err != nil {
		return nil, got, fmt.Errorf("manifest %s: %w", path, err)
	}
	if opts.Started != nil {
		opts.Started(mr.Header())
	}
	rep, err := CheckV2(ctx, mr, opts.CheckOptions)
	if err != nil {
		if errors.Is(err, ErrManifest) {
			err = fmt.Errorf("manifest %s: %w", path, err)
		}
		return nil, got, err
	}
	var reread ManifestDigest
	if again.Sum(reread[:0]); reread != got {
		return nil, got, fmt.Errorf("%w: %s", ErrManifestChanged, path)
	}
	return rep, got, nil
}
