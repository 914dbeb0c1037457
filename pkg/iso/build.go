package iso

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// Result says what went into an ISO.
type Result struct {
	Medium     Medium
	StoreImage string // its path on the ISO, e.g. /nix-store.squashfs
	RootHash   []byte
	Cmdline    string // the UKI's signed command line
	// UKIDigest is the UKI's SHA-256 Authenticode digest.
	UKIDigest []byte
}

// Build makes the ISO: the store image (or the given one) and its tree,
// the UKI with the medium's parameters on its command line, the EFI boot
// image, and the ISO written atomically to o.Output.
func Build(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	tmpParent := o.TempDir
	if tmpParent == "" {
		tmpParent = filepath.Dir(o.Output)
	}
	work, err := os.MkdirTemp(tmpParent, ".nix-uki-iso-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	in := o.UKI
	image := o.StoreImage
	if o.ClosureInfo != "" {
		in.ClosureManifest = filepath.Join(work, "manifest")
		paths, err := recordClosure(o.ClosureInfo, in.ClosureManifest)
		if err != nil {
			return nil, fmt.Errorf("%w: closure: %w", ErrOptions, err)
		}
		image = filepath.Join(work, "nix-store.squashfs")
		if err := makeSquashfs(ctx, o.Tools.Mksquashfs, paths, image, o.Epoch); err != nil {
			return nil, err
		}
	}
	fs, err := storeFS(image)
	if err != nil {
		return nil, err
	}
	storeName := StoreImageBase + fs
	tree := filepath.Join(work, "store.verity")
	root, err := formatTree(ctx, image, tree)
	if err != nil {
		return nil, err
	}
	medium, err := MediumFor(o.Label, root)
	if err != nil {
		return nil, err
	}
	line, err := kcmdline.Append(string(in.Cmdline), medium.Params(storeName, root)...)
	if err != nil {
		return nil, &ukibuild.InputError{Input: "cmdline", Err: err}
	}
	in.Cmdline = []byte(line)

	u, err := ukibuild.Compose(in)
	if err != nil {
		return nil, err
	}
	if line, err = signedCmdline(u); err != nil {
		return nil, err
	}
	ukiPath := filepath.Join(work, "uki.efi")
	f, err := os.Create(ukiPath)
	if err != nil {
		return nil, err
	}
	digest, err := u.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing the UKI: %w", err)
	}

	efiImage := filepath.Join(work, "efiboot.img")
	if err := makeEFIImage(ctx, o.Tools, efiImage, efiFiles(ukiPath, o.Shim, o.MokManager), o.Epoch); err != nil {
		return nil, err
	}
	// xorriso writes the ISO beside the output, which is then renamed
	// into place: the image is written once, not written and copied.
	isoPath, err := atomicfile.TempBeside(o.Output)
	if err != nil {
		return nil, err
	}
	if err := writeISO(ctx, o.Tools, isoPath, medium, efiImage, storeName, image, tree, o.Epoch); err != nil {
		os.Remove(isoPath)
		return nil, err
	}
	if err := atomicfile.Commit(isoPath, o.Output, 0o644); err != nil {
		return nil, err
	}
	return &Result{Medium: medium, StoreImage: storeName, RootHash: root, Cmdline: line, UKIDigest: digest}, nil
}

// signedCmdline is the composed UKI's .cmdline: the medium's words and
// the manifest digest Compose appends.
func signedCmdline(u *ukibuild.UKI) (string, error) {
	for _, s := range u.Sections() {
		if s.Name == uki.SectionCmdline {
			b, err := s.Bytes()
			return string(b), err
		}
	}
	return "", fmt.Errorf("the composed UKI has no %s section", uki.SectionCmdline)
}
