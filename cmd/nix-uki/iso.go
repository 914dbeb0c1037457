package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/iso"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

const isoHelp = `Build a hybrid installer ISO (boots from optical media and written to a USB
disk) whose store is verified block by block: the closure's store paths as a
squashfs image (--closure-info; or --store-image with --closure-manifest),
its dm-verity tree, and an EFI boot image holding EFI/BOOT/BOOTX64.EFI =
--shim and EFI/BOOT/grubx64.efi = the UKI (which shim loads; --mok-manager
adds mmx64.efi), or, without --shim, the UKI as BOOTX64.EFI.

The UKI is built as "nix-uki build" builds it, from the same options, signed
(required), with the closure manifest embedded and these words appended to
its command line, so the initrd's "nix-closure-verify boot" finds the ISO,
mounts it read-only and opens the store image through dm-verity:
  nix-closure-verify.store=off nix-closure-verify.medium-label=LABEL
  nix-closure-verify.medium-uuid=UUID nix-closure-verify.image=/nix-store.squashfs
  nix-closure-verify.root-hash=HEX
(/nix-store.erofs for an erofs --store-image; its tree is IMAGE.verity).
The volume UUID is derived from the root hash. The same inputs give the same
ISO bytes: every date is --source-date-epoch. Needs mksquashfs, mkfs.vfat,
mtools and xorriso. Prints the root hash, the medium's label and UUID, the
store image's path on the ISO and the UKI's Authenticode digest.
` + sbatHelp

func runISO(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "iso", "--linux KERNEL --closure-info DIR --secureboot-private-key KEY --secureboot-certificate CERT [options] --output ISO", isoHelp)
	var sf sectionFlags
	sf.register(fs)
	closureInfo := fs.String("closure-info", "", "closureInfo `DIR` (or registration file) of the system: its paths become the store image")
	storeImage := fs.String("store-image", "", "a squashfs or erofs store image `PATH` already made (with --closure-manifest)")
	shim := fs.String("shim", "", "shim's signed image `PATH` as BOOTX64.EFI (the UKI becomes grubx64.efi)")
	mok := fs.String("mok-manager", "", "MokManager `PATH`, copied as mmx64.efi next to shim")
	label := fs.String("volume-label", iso.DefaultName, "volume `LABEL` (1-32 of A-Z a-z 0-9 _ - .)")
	epoch := fs.String("source-date-epoch", "", "`N` seconds since 1970 for every date (default: $SOURCE_DATE_EPOCH, else 315532800)")
	sbKey := fs.String("secureboot-private-key", "", "sign the UKI with this private key `PATH` (required)")
	sbCert := fs.String("secureboot-certificate", "", "signing certificate `PATH` (PEM; more certificates after it are embedded)")
	tmp := fs.String("tmpdir", "", "scratch `DIR` for the store image and EFI image (default: the output's directory)")
	output := fs.String("output", "", "write the ISO to `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("iso: unexpected argument %q", fs.Arg(0))
	case *output == "":
		return cli.Usagef("iso: --output is required")
	case *sbKey == "" || *sbCert == "":
		return cli.Usagef("iso: --secureboot-private-key and --secureboot-certificate are required")
	}
	sde, err := epochFlag(*epoch)
	if err != nil {
		return err
	}
	in, err := sf.inputs()
	if err != nil {
		return err
	}
	signer, key, err := loadSigner(ctx, env.Stderr, *sbKey, *sbCert)
	if err != nil {
		return err
	}
	defer key.Close()
	in.SigningKey, in.Certificates = signer.Key, signer.Chain
	res, err := iso.Build(ctx, iso.Options{UKI: in, ClosureInfo: *closureInfo, StoreImage: *storeImage,
		Shim: *shim, MokManager: *mok, Label: *label, Epoch: sde, Output: *output, TempDir: *tmp})
	var ie *ukibuild.InputError
	switch {
	case errors.As(err, &ie):
		return composeError(ie)
	case err != nil:
		return inputError(fmt.Errorf("iso: %w", err))
	}
	fmt.Fprintf(env.Stdout, "root-hash: %s\nmedium-label: %s\nmedium-uuid: %s\nstore-image: %s\nuki-digest: sha256:%s\n",
		hex.EncodeToString(res.RootHash), res.Medium.Label, res.Medium.UUID, res.StoreImage, hex.EncodeToString(res.UKIDigest))
	return nil
}

// epochFlag maps --source-date-epoch, falling back on the environment.
func epochFlag(v string) (int64, error) {
	name := "--source-date-epoch"
	if v == "" {
		v, name = os.Getenv("SOURCE_DATE_EPOCH"), "SOURCE_DATE_EPOCH"
	}
	if v == "" {
		return iso.DefaultEpoch, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, cli.Usagef("%s %q: expected seconds since 1970", name, v)
	}
	return n, nil
}
