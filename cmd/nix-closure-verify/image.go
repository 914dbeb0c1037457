package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
)

// imageCommand is the "image" group; pkg/cli dispatches its subcommands,
// each in its own file.
func imageCommand() cli.Command {
	return cli.Command{
		Name:    "image",
		Summary: "dm-verity hash trees for read-only store images (format, verify, open, close, sha256)",
		Commands: []cli.Command{
			{Name: "format", Summary: "compute a store image's dm-verity hash tree (as veritysetup format) and print its root hash", Run: runImageFormat},
			{Name: "verify", Summary: "check an image and its hash tree against a root hash in user space, on all cores", Run: runImageVerify},
			{Name: "open", Summary: "set up a dm-verity device for an image through device-mapper ioctls (initrd)", Run: runImageOpen},
			{Name: "close", Summary: "remove a device-mapper device made by open", Run: runImageClose},
			{Name: "sha256", Summary: "hash the whole image with sha256 (the costly check dm-verity avoids at boot)", Run: runImageSHA256},
		},
	}
}

// imageError gives verity and device-mapper errors their exit status: a
// mismatch or corruption is a verification failure (1), everything else
// (malformed or truncated input, missing kernel support) an input error (2).
func imageError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, verity.ErrRootMismatch) || errors.Is(err, verity.ErrCorrupt) {
		return cli.Failed(err)
	}
	return cli.Usage(err)
}

// rootHashFlag maps --root-hash, which every command that trusts a tree
// requires.
func rootHashFlag(s string) ([]byte, error) {
	if s == "" {
		return nil, cli.Usagef("--root-hash is required")
	}
	b, err := verity.ParseRootHash(s)
	if err != nil {
		return nil, cli.Usage(fmt.Errorf("--root-hash: %w", err))
	}
	return b, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
