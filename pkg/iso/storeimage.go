package iso

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsmagic"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

// recordClosure reads a closureInfo and writes its manifest to manifest;
// it returns the store paths, sorted.
func recordClosure(closureInfo, manifest string) ([]string, error) {
	entries, err := closure.ReadClosureInfo(closureInfo)
	if err != nil {
		return nil, err
	}
	m, err := closure.NewManifest(closure.DefaultStoreDir, entries)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", closureInfo, err)
	}
	if err := os.WriteFile(manifest, m.Marshal(), 0o444); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(entries))
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	sort.Strings(paths)
	return paths, nil
}

// makeSquashfs writes the store paths into a squashfs whose root is the
// store directory (mounted at /nix/store at boot). Reproducible: mksquashfs
// sorts entries and is deterministic on any number of threads; every inode
// gets mtime 1, as in the store, the image its creation date from epoch;
// root owns everything; no extended attributes; the root directory is
// 0555. Blocks are padded to 4 KiB (mksquashfs' default), so dm-verity
// covers the whole image.
func makeSquashfs(ctx context.Context, mksquashfs string, paths []string, out string, epoch int64) error {
	args := append([]string(nil), paths...)
	args = append(args, out, "-noappend", "-quiet", "-no-progress", "-all-root", "-no-xattrs",
		"-mkfs-time", strconv.FormatInt(epoch, 10), "-all-time", "1", "-root-mode", "0555")
	if len(paths) == 1 {
		// With one source mksquashfs would make its contents the root.
		args = append(args, "-keep-as-directory")
	}
	return run(ctx, -1, mksquashfs, args...)
}

// storeFS says which file system a store image holds (pkg/fsmagic); an
// image that is neither squashfs nor erofs is refused, since the boot
// check could not mount it.
func storeFS(image string) (string, error) {
	f, err := os.Open(image)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fs, err := fsmagic.Detect(f)
	if err != nil {
		return "", fmt.Errorf("%w: store image %s: %w", ErrOptions, image, err)
	}
	return fs, nil
}

// formatTree computes the image's dm-verity tree into tree and returns
// the root hash. The salt is the SHA-256 of the image and the UUID is
// derived from it, so the tree depends on the image alone. An image whose
// size is not a whole number of 4 KiB blocks is refused: its tail would
// be neither covered nor visible through dm-verity.
func formatTree(ctx context.Context, image, tree string) ([]byte, error) {
	f, err := os.Open(image)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", image, err)
	}
	salt := h.Sum(nil)
	u := sha256.Sum256(append([]byte("nix-boot-security iso verity uuid\x00"), salt...))
	var uuid [16]byte
	copy(uuid[:], u[:])
	uuid[6] = uuid[6]&0x0f | 0x40 // a version 4 form, as veritysetup makes
	uuid[8] = uuid[8]&0x3f | 0x80
	t, uncovered, err := veritydev.Format(ctx, image, tree, verity.Params{Salt: salt, UUID: uuid})
	if err != nil {
		return nil, err
	}
	if uncovered != 0 {
		return nil, fmt.Errorf("%w: store image %s: the last %d bytes are not a whole %d-byte block and would not be verified",
			ErrOptions, image, uncovered, verity.DefaultBlockSize)
	}
	return t.RootHash(), nil
}
