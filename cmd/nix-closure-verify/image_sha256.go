package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

const sha256Help = `Hashes the whole image with sha256, streaming: the check a boot would have to
make without dm-verity, reading every byte before the store can be used.
Prints "HEX  IMAGE" as sha256sum does; with --expect, a different digest is a
verification failure.`

func runImageSHA256(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "image sha256", "IMAGE [--expect HEX]", sha256Help)
	expect := fs.String("expect", "", "the expected digest, in `HEX`")
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
