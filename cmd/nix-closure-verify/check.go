package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/progress"
	"github.com/nix-boot-security/nix-boot-security/pkg/storeverity"
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
extra-entry, type, executable, size, content-hash, symlink-target.

With --fsverity (version 2 manifests), no file contents are read: each
regular file's fs-verity digest, which the kernel reports in constant time
and checks every later read against, must equal the manifest's (problem
fs-verity). A file without fs-verity fails, unless --hash-unenabled is given:
then it is hashed in full and listed. On a filesystem without fs-verity every
file lacks it, so the check fails at once (exit 1) without --hash-unenabled.`

func runCheck(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "check", "--manifest PATH [options]", checkHelp)
	sf := addStoreFlags(fs, "the manifest `PATH` to check against (required)", "the directory `DIR` the store is under (e.g. /sysroot in an initrd)")
	fs.Lookup("jobs").Usage = "`N` parallel workers (default: one per CPU; with --fsverity four per CPU, as measuring mostly waits for reads)"
	showProgress := fs.Bool("progress", false, "show bytes and paths done, rate and time left on standard error")
	asJSON := fs.Bool("json", false, "print a machine-readable report on standard output")
	noMode := fs.Bool("no-check-mode", false, "do not check permissions (0444/0555 files, 0555 directories)")
	noSpecial := fs.Bool("no-check-special-bits", false, "do not check for setuid, setgid and sticky bits")
	noMtime := fs.Bool("no-check-mtime", false, "do not check that modification times are 1")
	noOwner := fs.Bool("no-check-owner", false, "do not check owners and groups")
	noXattrs := fs.Bool("no-check-xattrs", false, "do not check for extended attributes")
	owner := fs.String("owner", "0:0", "`OWNER` of every store entry: UID:GID, USER:GROUP or USER (single-user stores)")
	useVerity := fs.Bool("fsverity", false, "check each regular file by its fs-verity digest (FS_IOC_MEASURE_VERITY) instead of reading it; needs a version 2 manifest")
	hashUnenabled := fs.Bool("hash-unenabled", false, "with --fsverity: hash a file without fs-verity in full instead of failing it, and list it")
	allowXattrs := fs.String("allow-xattrs", strings.Join(closure.DefaultAllowedXattrs, ","), "`NAMES` of extended attributes allowed, comma-separated ('' for none)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	want, err := sf.parsed(fs)
	if err != nil {
		return err
	}
	if *hashUnenabled && !*useVerity {
		return cli.Usagef("--hash-unenabled goes with --fsverity")
	}
	expectedOwner, err := closure.ParseOwner(*owner)
	if err != nil {
		return cli.Usage(err)
	}
	allowed := []string{}
	if *allowXattrs != "" {
		allowed = strings.Split(*allowXattrs, ",")
	}
	opts := closure.FileCheckOptions{CheckOptions: closure.CheckOptions{
		Root: *sf.root, Jobs: *sf.jobs, Counters: &closure.Counters{},
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
			if *useVerity {
				total = 0 // no contents are read: the paths count
			}
			meter = progress.Start(env.Stderr, h.Paths, total, func() (uint64, uint64) { return c.Paths.Load(), c.Bytes.Load() })
		}
	}
	var rep *closure.Report
	var manifestDigest closure.ManifestDigest
	var hashed []string
	if *useVerity {
		var res *storeverity.CheckResult
		if res, err = storeverity.CheckFile(ctx, *sf.manifest, want, storeverity.CheckOptions{FileCheckOptions: opts, HashUnenabled: *hashUnenabled}); err == nil {
			rep, manifestDigest, hashed = res.Report, res.Digest, res.Hashed
		}
	} else {
		rep, manifestDigest, err = closure.CheckManifestFile(ctx, *sf.manifest, want, opts)
	}
	if meter != nil {
		meter.Stop()
	}
	if err != nil {
		return storeRunError(err, *useVerity)
	}
	if *asJSON {
		if err := writeJSONReport(env.Stdout, *sf.manifest, manifestDigest, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(env.Stdout, p)
		}
	}
	notes := env.Stdout
	if *asJSON {
		notes = env.Stderr
	}
	for _, h := range hashed {
		fmt.Fprintf(notes, "hashed in full, no fs-verity: %s\n", h)
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
	Files          int               `json:"files,omitempty"` // version 2 manifests: regular files checked
	NarBytes       uint64            `json:"narBytes"`        // version 2 manifests: file bytes read
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
		FailedPaths: rep.FailedPaths(), Files: rep.Files, NarBytes: rep.Bytes,
		Seconds: float64(rep.Duration.Round(time.Millisecond)) / float64(time.Second), Problems: problems,
	})
}
