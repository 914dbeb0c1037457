package veritydev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
)

// Format computes the tree of image with p and writes it, atomically, to
// hashFile, which must not be the image itself (its tree would replace
// it: verity.ErrOverlap). It returns the tree and how many bytes at the end
// of the image are not a whole block, so not covered.
func Format(ctx context.Context, image, hashFile string, p verity.Params) (*verity.Tree, int64, error) {
	data, err := openDevice(image)
	if err != nil {
		return nil, 0, err
	}
	defer data.f.Close()
	if hash, err := openDevice(hashFile); err == nil {
		same := sameDevice(data, hash)
		hash.f.Close()
		if same {
			return nil, 0, fmt.Errorf("%s: %w: the hash file is the image itself", hashFile, verity.ErrOverlap)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, err
	}
	tree, err := verity.Compute(ctx, data.r, p)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", image, err)
	}
	err = atomicfile.Write(hashFile, 0o644, func(w io.Writer) error {
		_, err := tree.WriteTo(w)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return tree, data.r.Size() - tree.Geometry.DataSize(), nil
}
