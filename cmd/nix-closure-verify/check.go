package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/progress"
)

func checkCommand() cli.Command {
	return cli.Command{Name: "check", Summary: "check a store against a manifest (all cores)", Run: runCheck}
}

const checkHelp = `Checks that every store path in the manifest exists under ROOT and that its
NAR hash and size match, using all cores. It also checks the metadata Nix
leaves that NAR does not cover: files 0444 or 0555, directories 0555, no
setuid, setgid or sticky bits, no devices, fifos or sockets, mtime 1, owner
root:root (--owner for a single-user store), no extended attributes but
security.selinux (file capabilities, ACLs). Every difference is reported, one
per line on standard output (or in the --json report), naming the path and
what differed.

The store directory is opened below ROOT without following any symlink: a
symlink there (ROOT/nix, ROOT/nix/store) is a verification failure. ROOT
itself is resolved as given.

With --digest, the manifest's sha256 is compared with DIGEST before the manifest is
parsed or the store is read.

A version 2 manifest (manifest --format v2) is checked file by file on all
cores, and a difference names the file inside the store path: missing,
extra-entry, type, executable, size, content-hash, symlink-target.`

func runCheck(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "check", "--manifest PATH [options]", checkHelp)
	manifestPath := fs.String("manifest", "", "the manifest `PATH` to check against (required)")
	digest := fs.String("digest", "", "expected sha256 `DIGEST` of the manifest file (sha256:<hex>, SRI or hex)")
	root := fs.String("root", "/", "the directory `DIR` the store is under (e.g. /sysroot in an initrd)")
	jobs := fs.Int("jobs", 0, "`N` parallel workers (default: one per CPU)")
	showProgress := fs.Bool("progress", false, "show bytes and paths done, rate and time left on standard error")
	asJSON := fs.Bool("json", false, "print a machine-readable report on standard output")
	noMode := fs.Bool("no-check-mode", false, "do not check permissions (0444/0555 files, 0555 directories)")
	noSpecial := fs.Bool("no-check-special-bits", false, "do not check for setuid, setgid and sticky bits")
	noMtime := fs.Bool("no-check-mtime", false, "do not check that modification times are 1")
	noOwner := fs.Bool("no-check-owner", false, "do not check owners and groups")
	noXattrs := fs.Bool("no-check-xattrs", false, "do not check for extended attributes")
	owner := fs.String("owner", "0:0", "`OWNER` of every store entry: UID:GID, USER:GROUP or USER (single-user stores)")
	allowXattrs := fs.String("allow-xattrs", strings.Join(closure.DefaultAllowedXattrs, ","), "`NAMES` of extended attributes allowed, comma-separated ('' for none)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *manifestPath == "" {
		return cli.Usagef("--manifest is required")
	}
	if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments %q", fs.Args())
	}
	if *jobs < 0 {
		return cli.Usagef("--jobs must be positive")
	}
	expectedOwner, err := closure.ParseOwner(*owner)
	if err != nil {
		return cli.Usage(err)
	}
	allowed := []string{}
	if *allowXattrs != "" {
		allowed = strings.Split(*allowXattrs, ",")
	}
	var want *closure.ManifestDigest
	if *digest != "" {
		d, err := closure.ParseDigest(*digest)
		if err != nil {
			return cli.Usage(err)
		}
		want = &d
	}
	opts := closure.FileCheckOptions{CheckOptions: closure.CheckOptions{
		Root: *root, Jobs: *jobs, Counters: &closure.Counters{},
		Metadata: closure.MetadataChecks{
			SkipMode: *noMode, SkipSpecialBits: *noSpecial, SkipMtime: *noMtime, SkipOwner: *noOwner, SkipXattrs: *noXattrs,
			Owner: expectedOwner, AllowXattrs: allowed,
		},
	}}
	var meter *progress.Meter
	if *showProgress {
		c := opts.Counters
		opts.Started = func(h closure.Header) {
			total := h.NarBytes
			if h.Version == closure.ManifestVersion2 {
				total = h.FileBytes // a version 2 check reads file contents, not NARs
			}
			meter = progress.Start(env.Stderr, h.Paths, total, func() (uint64, uint64) { return c.Paths.Load(), c.Bytes.Load() })
		}
	}
	rep, manifestDigest, err := closure.CheckManifestFile(ctx, *manifestPath, want, opts)
	if meter != nil {
		meter.Stop()
	}
	if err != nil {
		switch {
		case errors.Is(err, closure.ErrDigestMismatch), errors.Is(err, closure.ErrManifestChanged):
			return cli.Failedf("%w: refusing to use it", err)
		case errors.Is(err, closure.ErrSymlinkAboveStore):
			return cli.Failedf("verification failed: %w", err)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return err
		}
		return cli.Usage(err)
	}
	if *asJSON {
		if err := writeJSONReport(env.Stdout, *manifestPath, manifestDigest, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(env.Stdout, p)
		}
	}
	if !rep.OK() {
		return cli.Failedf("verification failed: %s", rep.Summary())
	}
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "ok: %s\n", rep.Summary())
	}
	return nil
}

// jsonReport is the --json output; its field names are a stable interface.
type jsonReport struct {
	Manifest       string            `json:"manifest"`
	ManifestDigest string            `json:"manifestDigest"`
	OK             bool              `json:"ok"`
	Paths          int               `json:"paths"`
	FailedPaths    int               `json:"failedPaths"`
	NarBytes       uint64            `json:"narBytes"`
	Seconds        float64           `json:"seconds"`
	Problems       []closure.Problem `json:"problems"`
}

func writeJSONReport(w io.Writer, manifest string, digest closure.ManifestDigest, rep *closure.Report) error {
	problems := rep.Problems
	if problems == nil {
		problems = []closure.Problem{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{
		Manifest: manifest, ManifestDigest: digest.String(), OK: rep.OK(), Paths: rep.Paths,
		FailedPaths: rep.FailedPaths(), NarBytes: rep.Bytes,
		Seconds: float64(rep.Duration.Round(time.Millisecond)) / float64(time.Second), Problems: problems,
	})
}
