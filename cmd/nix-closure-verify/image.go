package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

func imageCommand() cli.Command {
	return cli.Command{Name: "image", Summary: "dm-verity hash trees for read-only store images (format, verify, open, close, sha256)", Run: runImage}
}

type imageSub struct {
	name, summary string
	run           func(ctx context.Context, env cli.Env, args []string) error
}

func imageSubs() []imageSub {
	return []imageSub{
		{"format", "compute a store image's dm-verity hash tree (as veritysetup format) and print its root hash", runImageFormat},
		{"verify", "check an image and its hash tree against a root hash in user space, on all cores", runImageVerify},
		{"open", "set up a dm-verity device for an image through device-mapper ioctls (initrd)", runImageOpen},
		{"close", "remove a device-mapper device made by open", runImageClose},
		{"sha256", "hash the whole image with sha256 (the costly check dm-verity avoids at boot)", runImageSHA256},
	}
}

func runImage(ctx context.Context, env cli.Env, args []string) error {
	subs := imageSubs()
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s image COMMAND [options]\n\nCommands:\n", toolName)
		for _, s := range subs {
			fmt.Fprintf(w, "  %-8s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(w, "\n%s\nRun '%s image COMMAND --help' for a command's options.\n", cli.ExitStatusHelp, toolName)
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return cli.Usagef("image: no command given (format, verify, open, close, sha256)")
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(env.Stdout)
		return nil
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, env, args[1:])
		}
	}
	return cli.Usagef("image: unknown command %q (see %s image --help)", args[0], toolName)
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
	hashFile := fs.String("hash-file", "", "where to write the hash tree (default IMAGE.verity)")
	saltHex := fs.String("salt", "", "salt in hex, '-' for none (default 32 random bytes)")
	uuidStr := fs.String("uuid", "", "UUID for the superblock (default random)")
	dataBlockSize := fs.Uint32("data-block-size", verity.DefaultBlockSize, "data block size in bytes")
	hashBlockSize := fs.Uint32("hash-block-size", verity.DefaultBlockSize, "hash block size in bytes")
	dataBlocks := fs.Uint64("data-blocks", 0, "number of data blocks to cover (default all complete blocks)")
	noSuperblock := fs.Bool("no-superblock", false, "write no superblock (open then needs every parameter: not supported by open)")
	rootHashFile := fs.String("root-hash-file", "", "also write the root hash, in hex, to this file")
	jobs := fs.Int("jobs", 0, "parallel hashing workers (default: one per CPU)")
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
	salt, err := parseSalt(*saltHex)
	if err != nil {
		return err
	}
	uuid, err := parseUUID(*uuidStr)
	if err != nil {
		return err
	}
	f, data, _, err := veritydev.OpenSized(image)
	if err != nil {
		return cli.Usage(err)
	}
	defer f.Close()

	tree, err := verity.Compute(ctx, data, verity.Params{
		DataBlockSize: *dataBlockSize, HashBlockSize: *hashBlockSize, DataBlocks: *dataBlocks,
		Salt: salt, UUID: uuid, NoSuperblock: *noSuperblock, Workers: *jobs,
	})
	if err != nil {
		return cli.Usage(fmt.Errorf("%s: %w", image, err))
	}
	g := tree.Geometry
	if rest := data.Size() - g.DataSize(); rest > 0 && *dataBlocks == 0 {
		fmt.Fprintf(env.Stderr, "%s: warning: %s: the last %d bytes are not a whole block; they are not covered and dm-verity will not show them\n",
			toolName, image, rest)
	}
	err = atomicfile.Write(*hashFile, 0o644, func(w io.Writer) error {
		_, err := tree.WriteTo(w)
		return err
	})
	if err != nil {
		return cli.Usage(err)
	}
	root := hex.EncodeToString(tree.RootHash())
	if *rootHashFile != "" {
		if err := atomicfile.WriteFile(*rootHashFile, []byte(root+"\n"), 0o644); err != nil {
			return cli.Usage(err)
		}
	}
	r := formatReport{
		RootHash: root, Salt: saltString(salt), UUID: formatUUID(uuid),
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

const verifyHelp = `Checks IMAGE and its hash tree against the root hash entirely in user space:
reads the superblock (salt, sizes), recomputes the whole tree from the image
on all cores and compares. Exit status 1 names the bad data blocks with their
byte offsets, or the bad hash blocks; a root hash that the tree does not hash
up to (wrong root hash, salt or hash file) is also a failure. A malformed or
truncated hash file, or a root hash of the wrong length, is an input error.`

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
	rootHex := fs.String("root-hash", "", "the trusted root hash, in hex (required)")
	hashFile := fs.String("hash-file", "", "the hash tree (default IMAGE.verity; IMAGE itself with --hash-offset)")
	hashOffset := fs.Uint64("hash-offset", 0, "byte offset of the superblock in the hash file")
	jobs := fs.Int("jobs", 0, "parallel hashing workers (default: one per CPU)")
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
	root, err := parseRootHash(*rootHex)
	if err != nil {
		return err
	}
	image := fs.Arg(0)
	hashPath := veritydev.DefaultHashPath(image, *hashFile, *hashOffset)
	df, data, _, err := veritydev.OpenSized(image)
	if err != nil {
		return cli.Usage(err)
	}
	defer df.Close()
	hf, hash, _, err := veritydev.OpenSized(hashPath)
	if err != nil {
		return cli.Usage(err)
	}
	defer hf.Close()

	sb, err := verity.Verify(ctx, data, hash, root, verity.VerifyOptions{HashOffset: *hashOffset, Workers: *jobs})
	r := verifyReport{OK: err == nil, RootHash: hex.EncodeToString(root)}
	if sb != nil {
		r.DataBlocks = sb.DataBlocks
	}
	var ce *verity.CorruptionError
	if errors.As(err, &ce) {
		r.BadData, r.BadHash = ce.DataBlocks, ce.HashBlocks
	}
	if err != nil {
		err = imageError(fmt.Errorf("%s: %w", image, err))
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

const openHelp = `Sets up /dev/mapper/NAME as a dm-verity device over IMAGE, talking to the
kernel's device-mapper directly (ioctls on /dev/mapper/control; no
veritysetup, libdevmapper or udev needed, as in an initrd). Files are attached
to read-only loop devices first; block devices are used as they are.

Before anything is set up, the top of the hash tree is checked against the
root hash (one block read), so a wrong root hash, salt or hash file is refused
up front with exit status 1. The kernel then verifies every block as it is
read; --on-corruption says what it does with a bad one. Needs root and the
dm-mod and dm-verity kernel modules. Prints the device path.`

func runImageOpen(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image open", "--root-hash H --name NAME IMAGE [options]", openHelp)
	rootHex := fs.String("root-hash", "", "the trusted root hash, in hex (required)")
	name := fs.String("name", "", "device-mapper name: the device is /dev/mapper/NAME (required)")
	hashFile := fs.String("hash-file", "", "the hash tree (default IMAGE.verity; IMAGE itself with --hash-offset)")
	hashOffset := fs.Uint64("hash-offset", 0, "byte offset of the superblock in the hash file")
	onCorruption := fs.String("on-corruption", "eio", "what the kernel does on a bad block: eio (fail the read), restart or panic")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("image open needs exactly one IMAGE")
	}
	if *name == "" {
		return cli.Usagef("--name is required")
	}
	var optional []string
	switch *onCorruption {
	case "eio":
	case "restart":
		optional = append(optional, "restart_on_corruption")
	case "panic":
		optional = append(optional, "panic_on_corruption")
	default:
		return cli.Usagef("--on-corruption must be eio, restart or panic, not %q", *onCorruption)
	}
	root, err := parseRootHash(*rootHex)
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
	name := fs.String("name", "", "device-mapper name (required)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() != 0 {
		return cli.Usagef("image close needs --name and no arguments")
	}
	return cli.Usage(veritydev.Close(*name))
}

const sha256Help = `Hashes the whole image with sha256, streaming: the check a boot would have to
make without dm-verity, reading every byte before the store can be used.
Prints "HEX  IMAGE" as sha256sum does; with --expect, a different digest is a
verification failure.`

func runImageSHA256(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image sha256", "IMAGE [--expect HEX]", sha256Help)
	expect := fs.String("expect", "", "the expected digest, in hex")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("image sha256 needs exactly one IMAGE")
	}
	var want []byte
	if *expect != "" {
		var err error
		if want, err = hex.DecodeString(*expect); err != nil || len(want) != sha256.Size {
			return cli.Usagef("--expect must be %d hex digits", 2*sha256.Size)
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return cli.Usage(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, 1<<20)); err != nil {
		return cli.Usage(fmt.Errorf("reading %s: %w", fs.Arg(0), err))
	}
	got := h.Sum(nil)
	fmt.Fprintf(env.Stdout, "%x  %s\n", got, fs.Arg(0))
	if want != nil && !bytes.Equal(got, want) {
		return cli.Failedf("%s: sha256 %x, expected %x", fs.Arg(0), got, want)
	}
	return nil
}

// ctxReader stops a long read when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func parseRootHash(s string) ([]byte, error) {
	if s == "" {
		return nil, cli.Usagef("--root-hash is required")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, cli.Usagef("--root-hash: not hex: %v", err)
	}
	if len(b) != verity.DigestSize {
		return nil, cli.Usage(fmt.Errorf("--root-hash: %w: %d hex digits, %s needs %d",
			verity.ErrRootHashLength, len(s), verity.Algorithm, 2*verity.DigestSize))
	}
	return b, nil
}

func parseSalt(s string) ([]byte, error) {
	switch s {
	case "-":
		return nil, nil
	case "":
		salt := make([]byte, verity.DefaultSaltSize)
		if _, err := rand.Read(salt); err != nil {
			return nil, fmt.Errorf("random salt: %w", err)
		}
		return salt, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, cli.Usagef("--salt: not hex: %v", err)
	}
	if len(b) > verity.MaxSaltSize {
		return nil, cli.Usagef("--salt: %d bytes, at most %d", len(b), verity.MaxSaltSize)
	}
	return b, nil
}

func saltString(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

// parseUUID reads the 8-4-4-4-12 form; empty means a random (version 4)
// UUID, as veritysetup makes.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	if s == "" {
		if _, err := rand.Read(u[:]); err != nil {
			return u, fmt.Errorf("random uuid: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		return u, nil
	}
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return u, cli.Usagef("--uuid %q: not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	b, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return u, cli.Usagef("--uuid %q: not hex", s)
	}
	copy(u[:], b)
	return u, nil
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
