package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

const verifyHelp = `Checks IMAGE and its hash tree against the root hash entirely in user space:
reads the superblock (salt, sizes), recomputes the whole tree from the image
on all cores and compares. Exit status 1 names the bad data blocks with their
byte offsets, or the bad hash blocks; a root hash that the tree does not hash
up to (wrong root hash, salt or hash file) is also a failure. A malformed or
truncated hash file, a tree that overlaps the data it covers, or a root hash
of the wrong length, is an input error.`

type verifyReport struct {
	OK         bool               `json:"ok"`
	RootHash   string             `json:"rootHash"`
	DataBlocks uint64             `json:"dataBlocks,omitempty"`
	BadData    []uint64           `json:"badDataBlocks,omitempty"`
	BadHash    []verity.HashBlock `json:"badHashBlocks,omitempty"`
	Error      string             `json:"error,omitempty"`
}

func runImageVerify(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image verify", "--root-hash H IMAGE [options]", verifyHelp)
	rootHex := fs.String("root-hash", "", "the trusted root hash, in `HEX` (required)")
	hashFile := fs.String("hash-file", "", "the hash tree's `PATH` (default IMAGE.verity; IMAGE itself with --hash-offset)")
	hashOffset := fs.Uint64("hash-offset", 0, "offset in `BYTES` of the superblock in the hash file")
	jobs := fs.Int("jobs", 0, "`N` parallel hashing workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("image verify needs exactly one IMAGE")
	}
	if *jobs < 0 {
		return cli.Usagef("--jobs must be positive")
	}
	root, err := rootHashFlag(*rootHex)
	if err != nil {
		return err
	}
	image := fs.Arg(0)
	sb, err := veritydev.Verify(ctx, veritydev.Options{Image: image,
		HashPath: veritydev.DefaultHashPath(image, *hashFile, *hashOffset), HashOffset: *hashOffset,
		RootHash: root}, *jobs)
	r := verifyReport{OK: err == nil, RootHash: hex.EncodeToString(root)}
	if sb != nil {
		r.DataBlocks = sb.DataBlocks
	}
	var ce *verity.CorruptionError
	if errors.As(err, &ce) {
		r.BadData, r.BadHash = ce.DataBlocks, ce.HashBlocks
	}
	if err != nil {
		err = imageError(err)
		r.Error = err.Error()
	}
	if *asJSON {
		if jerr := writeJSON(env.Stdout, r); jerr != nil {
			return jerr
		}
	} else if err == nil {
		fmt.Fprintf(env.Stdout, "ok: %s: %d data blocks match root hash %s\n", image, sb.DataBlocks, r.RootHash)
	}
	return err
}
