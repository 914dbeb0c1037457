package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

func manifestCommand() cli.Command {
	return cli.Command{Name: "manifest", Summary: "write the manifest of a closure and print its digest", Run: runManifest}
}

const manifestHelp = `Writes the manifest of a store closure: every store path with its NAR sha256
and NAR size, sorted, in the versioned format documented in README.md. Give
exactly one source: a closureInfo directory or registration file, an
.attrs.json from exportReferencesGraph, the output of 'nix path-info --json -r',
or store paths to hash here (--rehash), following their references.

--format v2 also records every entry inside each store path (type, executable
bit, size, sha256 and fs-verity digest of files, symlink targets), read from
the store under --root; each path must reproduce the NAR hash and size the
source gives for it, or nothing is written (exit status 1).

The manifest's own digest (sha256:<hex>) is printed on standard output when
--output is given, on standard error otherwise; it is what goes on a kernel
command line for 'check --digest'.`

func runManifest(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "manifest", "SOURCE [--output PATH]", manifestHelp)
	closureInfo := fs.String("closure-info", "", "closureInfo directory, or a registration file (nix-store --dump-db): `PATH`")
	attrs := fs.String("attrs", "", "structured-attrs .attrs.json `PATH` with an exportReferencesGraph closure")
	pathInfo := fs.String("path-info", "", "`PATH` of the output of 'nix path-info --json -r' ('-' for standard input)")
	rehash := fs.Bool("rehash", false, "hash the store paths given as arguments and their references here")
	storeDir := fs.String("store-dir", closure.DefaultStoreDir, "the store directory `DIR` the paths live in")
	root := fs.String("root", "", "with --rehash or --format v2: the directory `DIR` the store is under")
	jobs := fs.Int("jobs", 0, "with --rehash or --format v2: `N` parallel workers (default: one per CPU)")
	format := fs.String("format", "v1", "manifest `VERSION`: v1 (store paths) or v2 (store paths and every entry inside them)")
	output := fs.String("output", "", "write the manifest to `PATH` instead of standard output")
	digestFile := fs.String("digest-file", "", "also write the manifest's digest to `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{*closureInfo != "", *attrs != "", *pathInfo != "", *rehash} {
		if set {
			sources++
		}
	}
	if *format != "v1" && *format != "v2" {
		return cli.Usagef("--format must be v1 or v2, not %q", *format)
	}
	if sources != 1 {
		return cli.Usagef("give exactly one of --closure-info, --attrs, --path-info, --rehash")
	}
	if !*rehash && fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q (store paths go with --rehash)", fs.Args())
	}
	if *rehash && fs.NArg() == 0 {
		return cli.Usagef("--rehash needs at least one store path")
	}

	var entries []closure.Entry
	var err error
	switch {
	case *closureInfo != "":
		entries, err = closure.ReadClosureInfo(*closureInfo)
	case *attrs != "":
		var data []byte
		if data, err = os.ReadFile(*attrs); err == nil {
			entries, err = closure.ParseAttrsJSON(data)
		}
	case *pathInfo != "":
		var data []byte
		if data, err = readFileOrStdin(*pathInfo, env.Stdin); err == nil {
			entries, err = closure.ParsePathInfoJSON(data)
		}
	case *rehash:
		entries, err = closure.Rehash(ctx, fs.Args(), closure.RehashOptions{StoreDir: *storeDir, Root: *root, Jobs: *jobs})
	}
	if err != nil {
		return cli.Usage(err)
	}
	m, err := closure.NewManifest(*storeDir, entries)
	if err != nil {
		return cli.Usage(err)
	}
	data := m.Marshal()
	if *format == "v2" {
		if data, err = recordV2(ctx, m, *root, *jobs); err != nil {
			return err
		}
	}
	digest := closure.DigestOf(data).String()
	if *digestFile != "" {
		if err := atomicfile.WriteFile(*digestFile, []byte(digest+"\n"), 0o644); err != nil {
			return cli.Usage(err)
		}
	}
	if *output == "" {
		if _, err := env.Stdout.Write(data); err != nil {
			return err
		}
		fmt.Fprintln(env.Stderr, digest)
		return nil
	}
	if err := atomicfile.WriteFile(*output, data, 0o644); err != nil {
		return cli.Usage(err)
	}
	fmt.Fprintln(env.Stdout, digest)
	return nil
}

// recordV2 reads the closure's store paths under root into a version 2
// manifest.
func recordV2(ctx context.Context, m *closure.Manifest, root string, jobs int) ([]byte, error) {
	blocks, err := closure.RecordV2(ctx, m, closure.RecordOptions{Root: root, Jobs: jobs})
	switch {
	case errors.Is(err, closure.ErrNarMismatch), errors.Is(err, closure.ErrSymlinkAboveStore):
		return nil, cli.Failedf("%w", err)
	case err != nil:
		return nil, cli.Usage(err)
	}
	var b bytes.Buffer
	if err := closure.WriteManifestV2(&b, m.StoreDir, blocks); err != nil {
		return nil, cli.Usage(err)
	}
	return b.Bytes(), nil
}

func readFileOrStdin(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}
