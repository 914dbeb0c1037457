package main

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

const formatHelp = `Computes the dm-verity hash tree of IMAGE (a squashfs or erofs store image)
and writes it to the hash file: byte for byte what 'veritysetup format' writes
with the same salt and UUID (superblock version 1, hash format 1, sha256).
Hashing uses all cores and reads the image in bounded chunks; only the hash
levels (32 bytes per block) are held in memory.

The root hash goes on the signed kernel command line; 'image open' then checks
every block against it as it is read. Like veritysetup, only complete blocks
are covered: a partial block at the end is not (a warning says so).

Prints root hash, salt, uuid and sizes as "key: value" lines, or JSON.`

type formatReport struct {
	RootHash       string `json:"rootHash"`
	Salt           string `json:"salt"`
	UUID           string `json:"uuid"`
	DataBlocks     uint64 `json:"dataBlocks"`
	DataBlockSize  uint32 `json:"dataBlockSize"`
	HashBlockSize  uint32 `json:"hashBlockSize"`
	HashOffset     uint64 `json:"hashOffset"`
	HashStartBlock uint64 `json:"hashStartBlock"`
	HashBlocks     uint64 `json:"hashBlocks"`
	HashFile       string `json:"hashFile"`
	Superblock     bool   `json:"superblock"`
}

func runImageFormat(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image format", "IMAGE [options]", formatHelp)
	hashFile := fs.String("hash-file", "", "`PATH` to write the hash tree to (default IMAGE.verity)")
	saltHex := fs.String("salt", "", "salt in `HEX`, '-' for none (default 32 random bytes)")
	uuidStr := fs.String("uuid", "", "`UUID` for the superblock (default random)")
	dataBlockSize := fs.Uint32("data-block-size", verity.DefaultBlockSize, "data block size in `BYTES`")
	hashBlockSize := fs.Uint32("hash-block-size", verity.DefaultBlockSize, "hash block size in `BYTES`")
	dataBlocks := fs.Uint64("data-blocks", 0, "number `N` of data blocks to cover (default all complete blocks)")
	noSuperblock := fs.Bool("no-superblock", false, "write no superblock (open then needs every parameter: not supported by open)")
	rootHashFile := fs.String("root-hash-file", "", "also write the root hash, in hex, to `PATH`")
	jobs := fs.Int("jobs", 0, "`N` parallel hashing workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("image format needs exactly one IMAGE")
	}
	if *jobs < 0 {
		return cli.Usagef("--jobs must be positive")
	}
	image := fs.Arg(0)
	if *hashFile == "" {
		*hashFile = image + ".verity"
	}
	salt, err := saltFlag(*saltHex)
	if err != nil {
		return err
	}
	uuid, err := uuidFlag(*uuidStr)
	if err != nil {
		return err
	}
	tree, uncovered, err := veritydev.Format(ctx, image, *hashFile, verity.Params{
		DataBlockSize: *dataBlockSize, HashBlockSize: *hashBlockSize, DataBlocks: *dataBlocks,
		Salt: salt, UUID: uuid, NoSuperblock: *noSuperblock, Workers: *jobs,
	})
	if err != nil {
		return cli.Usage(err)
	}
	g := tree.Geometry
	if uncovered > 0 && *dataBlocks == 0 {
		fmt.Fprintf(env.Stderr, "%s: warning: %s: the last %d bytes are not a whole block; they are not covered and dm-verity will not show them\n",
			toolName, image, uncovered)
	}
	root := hex.EncodeToString(tree.RootHash())
	if *rootHashFile != "" {
		if err := atomicfile.WriteFile(*rootHashFile, []byte(root+"\n"), 0o644); err != nil {
			return cli.Usage(err)
		}
	}
	r := formatReport{
		RootHash: root, Salt: verity.FormatSalt(salt), UUID: verity.FormatUUID(uuid),
		DataBlocks: g.DataBlocks, DataBlockSize: g.DataBlockSize, HashBlockSize: g.HashBlockSize,
		HashOffset: g.HashOffset, HashStartBlock: g.HashStart, HashBlocks: g.HashBlocks(),
		HashFile: *hashFile, Superblock: !*noSuperblock,
	}
	if *asJSON {
		return writeJSON(env.Stdout, r)
	}
	fmt.Fprintf(env.Stdout, "root-hash: %s\nsalt: %s\nuuid: %s\ndata-blocks: %d\ndata-block-size: %d\nhash-block-size: %d\nhash-offset: %d\nhash-start-block: %d\nhash-blocks: %d\nhash-file: %s\n",
		r.RootHash, r.Salt, r.UUID, r.DataBlocks, r.DataBlockSize, r.HashBlockSize, r.HashOffset, r.HashStartBlock, r.HashBlocks, r.HashFile)
	return nil
}

// saltFlag maps --salt: empty means veritysetup's default, a random salt.
func saltFlag(s string) ([]byte, error) {
	if s == "" {
		return verity.NewSalt()
	}
	salt, err := verity.ParseSalt(s)
	if err != nil {
		return nil, cli.Usage(fmt.Errorf("--salt: %w", err))
	}
	return salt, nil
}

// uuidFlag maps --uuid: empty means a random UUID, as veritysetup makes.
func uuidFlag(s string) ([16]byte, error) {
	if s == "" {
		return verity.NewUUID()
	}
	u, err := verity.ParseUUID(s)
	if err != nil {
		return u, cli.Usage(fmt.Errorf("--uuid %q: %w", s, err))
	}
	return u, nil
}
