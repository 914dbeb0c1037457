package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

const openHelp = `Sets up /dev/mapper/NAME as a dm-verity device over IMAGE, talking to the
kernel's device-mapper directly (ioctls on /dev/mapper/control; no
veritysetup, libdevmapper or udev needed, as in an initrd). Files are attached
to read-only loop devices first; block devices are used as they are.

Before anything is set up, the top of the hash tree is checked against the
root hash (one block read), so a wrong root hash, salt or hash file is refused
up front with exit status 1; a tree that overlaps the data it covers is
refused with exit status 2. The kernel then verifies every block as it is
read; --on-corruption says what it does with a bad one. Needs root and the
dm-mod and dm-verity kernel modules. Prints the device path.`

func runImageOpen(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image open", "--root-hash H --name NAME IMAGE [options]", openHelp)
	rootHex := fs.String("root-hash", "", "the trusted root hash, in `HEX` (required)")
	name := fs.String("name", "", "device-mapper `NAME`: the device is /dev/mapper/NAME (required)")
	hashFile := fs.String("hash-file", "", "the hash tree's `PATH` (default IMAGE.verity; IMAGE itself with --hash-offset)")
	hashOffset := fs.Uint64("hash-offset", 0, "offset in `BYTES` of the superblock in the hash file")
	onCorruption := fs.String("on-corruption", "eio", "`ACTION` the kernel takes on a bad block: eio (fail the read), restart or panic")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("image open needs exactly one IMAGE")
	}
	if *name == "" {
		return cli.Usagef("--name is required")
	}
	optional, err := verity.OnCorruption(*onCorruption)
	if err != nil {
		return cli.Usage(fmt.Errorf("--on-corruption: %w", err))
	}
	root, err := rootHashFlag(*rootHex)
	if err != nil {
		return err
	}
	image := fs.Arg(0)
	path, err := veritydev.Open(veritydev.Options{Image: image,
		HashPath: veritydev.DefaultHashPath(image, *hashFile, *hashOffset), HashOffset: *hashOffset,
		RootHash: root, Name: *name, Optional: optional})
	if err != nil {
		return imageError(err)
	}
	fmt.Fprintln(env.Stdout, path)
	return nil
}

const closeHelp = `Removes the device-mapper device NAME (and /dev/mapper/NAME if open made
the node). Loop devices open attached go with it.`

func runImageClose(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image close", "--name NAME", closeHelp)
	name := fs.String("name", "", "device-mapper `NAME` (required)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() != 0 {
		return cli.Usagef("image close needs --name and no arguments")
	}
	return cli.Usage(veritydev.Close(*name))
}
