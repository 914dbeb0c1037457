package main

import (
	"context"
	"errors"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
)

// storeFlags are the options of the commands that read a store against a
// manifest (check, fsverity enable).
type storeFlags struct {
	manifest, digest, root *string
	jobs                   *int
}

func addStoreFlags(fs *pflag.FlagSet, manifestUsage, rootUsage string) storeFlags {
	return storeFlags{
		manifest: fs.String("manifest", "", manifestUsage),
		digest:   fs.String("digest", "", "expected sha256 `DIGEST` of the manifest file (sha256:<hex>, SRI or hex)"),
		root:     fs.String("root", "/", rootUsage),
		jobs:     fs.Int("jobs", 0, "`N` parallel workers (default: one per CPU)"),
	}
}

// parsed validates the options once parsed and returns the expected
// manifest digest (nil when none is given).
func (s storeFlags) parsed(fs *pflag.FlagSet) (*closure.ManifestDigest, error) {
	if *s.manifest == "" {
		return nil, cli.Usagef("--manifest is required")
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("unexpected arguments %q", fs.Args())
	}
	if *s.jobs < 0 {
		return nil, cli.Usagef("--jobs must be positive")
	}
	if *s.digest == "" {
		return nil, nil
	}
	d, err := closure.ParseDigest(*s.digest)
	if err != nil {
		return nil, cli.Usage(err)
	}
	return &d, nil
}

// storeRunError gives an error that ended a run over the store its exit
// status: a manifest that is not the expected one, a store directory
// reached through a symlink, and (when checking by fs-verity digests) a
// filesystem with no fs-verity at all are verification failures (1); every
// other problem with the input (a version 1 manifest where fs-verity needs
// version 2, a missing root ...) is exit 2.
func storeRunError(err error, unsupportedFails bool) error {
	switch {
	case errors.Is(err, closure.ErrDigestMismatch), errors.Is(err, closure.ErrManifestChanged):
		return cli.Failedf("%w: refusing to use it", err)
	case errors.Is(err, closure.ErrSymlinkAboveStore), unsupportedFails && errors.Is(err, fsverity.ErrUnsupported):
		return cli.Failedf("verification failed: %w", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return cli.Usage(err)
}
