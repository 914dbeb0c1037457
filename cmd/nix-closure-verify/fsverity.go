package main

import (
	"context"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/storeverity"
)

// fsverityCommand is the "fsverity" group.
func fsverityCommand() cli.Command {
	return cli.Command{
		Name:    "fsverity",
		Summary: "fs-verity on a closure's files (enable); check --fsverity checks by their digests",
		Commands: []cli.Command{
			{Name: "enable", Summary: "check a closure's files against a version 2 manifest, then enable fs-verity on each", Run: runFSVerityEnable},
		},
	}
}

const fsverityEnableHelp = `Enables fs-verity (SHA-256, 4096-byte blocks, no salt: the digests a version
2 manifest records) on every regular file of the manifest's closure under
ROOT that does not have it yet. First every file's contents are checked
against the manifest (files that have fs-verity already are measured, not
read); nothing is enabled unless all of them match. Then fs-verity is
enabled where it is missing and every file is measured again. Running it
again enables nothing and reads no file.

The filesystem must support fs-verity (ext4 made with -O verity, or
tune2fs -O verity on it unmounted; the kernel needs CONFIG_FS_VERITY) and be
mounted read-write; files must not be open for writing. Permissions, owners,
times and extended attributes are not checked here (check does that).`

func runFSVerityEnable(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "fsverity enable", "--manifest PATH [options]", fsverityEnableHelp)
	sf := addStoreFlags(fs, "the version 2 manifest `PATH` (required)", "the directory `DIR` the store is under")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	want, err := sf.parsed(fs)
	if err != nil {
		return err
	}
	opts := closure.FileCheckOptions{CheckOptions: closure.CheckOptions{Root: *sf.root, Jobs: *sf.jobs,
		Metadata: closure.MetadataChecks{SkipMode: true, SkipSpecialBits: true, SkipMtime: true, SkipOwner: true, SkipXattrs: true}}}
	res, err := storeverity.Enable(ctx, *sf.manifest, want, opts)
	if err != nil {
		return storeRunError(err, false)
	}
	for _, p := range res.Report.Problems {
		fmt.Fprintln(env.Stdout, p)
	}
	if !res.OK() {
		if res.Enabled == 0 {
			return cli.Failedf("verification failed, fs-verity enabled on no file: %s", res.Report.Summary())
		}
		return cli.Failedf("verification failed after enabling fs-verity on %d files: %s", res.Enabled, res.Report.Summary())
	}
	fmt.Fprintf(env.Stdout, "ok: fs-verity enabled on %d files, %d already had it (%d regular files, %d store paths) in %.2f s\n",
		res.Enabled, res.Files-res.Enabled, res.Files, res.Report.Paths, res.Duration.Seconds())
	return nil
}
