package bootcheck

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/medium"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

// MediumMount is where the medium holding the store image is mounted,
// read-only; it stays mounted, since the image's loop device reads from it.
const MediumMount = "/run/nix-closure-verify/medium"

// openImage opens the store image through dm-verity: first, with a
// medium, it finds the medium and mounts it read-only, the image and tree
// being files on it; then it checks the tree's top against the root hash
// and sets up the device (files through read-only loop devices); then,
// with a medium or store-mount, it mounts the device read-only where the
// system expects its store. Every step that fails is a boot check failure.
func (e Env) openImage(ctx context.Context, c Config) error {
	image, hashDev := c.Image, c.HashDevice
	if c.onMedium() {
		start := time.Now()
		q := medium.Query{Label: c.MediumLabel, UUID: c.MediumUUID}
		dev, err := e.Machine.FindMedium(ctx, q, c.MediumWait)
		if err != nil {
			return fmt.Errorf("%w: medium: %w", ErrFailed, err)
		}
		if err := e.Machine.Mount(dev, MediumMount, "iso9660", MountMedium); err != nil {
			return fmt.Errorf("%w: mounting the medium %s: %w", ErrFailed, dev, err)
		}
		fmt.Fprintf(e.Console, "%s: medium (%s) found at %s, mounted read-only at %s in %.2f s\n",
			Prefix, q, dev, MediumMount, time.Since(start).Seconds())
		image = filepath.Join(MediumMount, c.Image)
		if hashDev != "" {
			hashDev = filepath.Join(MediumMount, hashDev)
		}
	}
	start := time.Now()
	dev, err := e.Machine.OpenVerity(veritydev.Options{Image: image,
		HashPath: veritydev.DefaultHashPath(image, hashDev, c.HashOffset), HashOffset: c.HashOffset,
		RootHash: c.RootHash, Name: c.Name})
	if err != nil {
		return fmt.Errorf("%w: store image %s: %w", ErrFailed, image, err)
	}
	fmt.Fprintf(e.Console, "%s: store image %s opened through dm-verity as %s (root hash checked, every block verified on read) in %.2f s\n",
		Prefix, image, dev, time.Since(start).Seconds())
	if c.StoreMount == "" {
		return nil
	}
	fsType, err := storeFSType(dev)
	if err != nil {
		return fmt.Errorf("%w: store image %s: %w", ErrFailed, image, err)
	}
	if err := e.Machine.Mount(dev, c.StoreMount, fsType, MountStore); err != nil {
		return fmt.Errorf("%w: mounting the store image at %s: %w", ErrFailed, c.StoreMount, err)
	}
	fmt.Fprintf(e.Console, "%s: store image mounted read-only at %s (%s)\n", Prefix, c.StoreMount, fsType)
	return nil
}
