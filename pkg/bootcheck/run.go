package bootcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/storeverity"
)

// ErrFailed is wrapped by the error of every check that failed.
var ErrFailed = errors.New("boot check failed")

// maxCmdlineSize bounds the read of the command line file; the kernel's
// is at most a few KiB on every architecture.
const maxCmdlineSize = 64 << 10

// Env is where the boot check reads and acts. The zero paths are the real
// ones.
type Env struct {
	CmdlinePath string // the kernel command line ("" means /proc/cmdline)
	InitrdRoot  string // the initrd's root: settings and manifest are under it ("" means /)
	Console     io.Writer
	Machine     Machine
}

// Boot is the whole boot check: it reads the signed settings and the
// command line, decides what to check, opens the store image, checks the
// store, prints every outcome on the console and, on failure, carries out
// the failure action. It returns nil when the boot may go on and a
// *StopError when it may not.
func Boot(ctx context.Context, e Env) error {
	if e.CmdlinePath == "" {
		e.CmdlinePath = "/proc/cmdline"
	}
	if e.InitrdRoot == "" {
		e.InitrdRoot = "/"
	}
	c, notes, err := e.decide()
	for _, n := range notes {
		fmt.Fprintln(e.Console, n)
	}
	if err == nil {
		err = e.run(ctx, c)
	}
	if err != nil {
		return act(c.OnFailure, err, e.Console, e.Machine)
	}
	return nil
}

func (e Env) decide() (Config, []string, error) {
	halt := Config{OnFailure: ActionHalt}
	cmdline, err := readBounded(e.CmdlinePath, maxCmdlineSize)
	if err != nil {
		// Without the command line nothing is known; stop, as the default
		// action would.
		return halt, nil, fmt.Errorf("reading the kernel command line: %w", err)
	}
	settings, err := e.readSettings()
	if err != nil {
		return halt, nil, err
	}
	return Decide(settings, string(cmdline))
}

// readSettings returns the signed settings, or nil when the initrd has none.
func (e Env) readSettings() (Values, error) {
	path := filepath.Join(e.InitrdRoot, closure.SettingsPath)
	data, err := readBounded(path, MaxSettingsSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	v, err := ParseSettings(data)
	if err != nil {
		return nil, fmt.Errorf("settings %s: %w", path, err)
	}
	return v, nil
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

func (e Env) run(ctx context.Context, c Config) error {
	if c.Image != "" {
		if err := e.openImage(ctx, c); err != nil {
			return err
		}
	}
	if c.Store {
		return e.checkStore(ctx, c)
	}
	return nil
}

func (e Env) checkStore(ctx context.Context, c Config) error {
	if c.FSVerity {
		return e.checkStoreFSVerity(ctx, c)
	}
	// Either manifest version; a version 2 manifest is streamed, not loaded.
	rep, _, err := closure.CheckManifestFile(ctx, filepath.Join(e.InitrdRoot, c.Manifest), c.Digest,
		closure.FileCheckOptions{CheckOptions: closure.CheckOptions{Root: c.Root, Jobs: c.Jobs, Metadata: closure.AllMetadataChecks}})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return e.report(rep, "")
}

// report prints every problem and the outcome; how says how the files
// were checked when not by their contents.
func (e Env) report(rep *closure.Report, how string) error {
	for _, p := range rep.Problems {
		fmt.Fprintf(e.Console, "%s: FAILED %s\n", Prefix, p)
	}
	if !rep.OK() {
		return fmt.Errorf("%w: %s", ErrFailed, rep.Summary())
	}
	fmt.Fprintf(e.Console, "%s: store ok%s: %s\n", Prefix, how, rep.Summary())
	return nil
}

// checkStoreFSVerity checks the store by each file's fs-verity digest
// (fsverity=on): no contents are read, and a file without fs-verity fails.
// It needs a version 2 manifest; a version 1 manifest is a failure.
func (e Env) checkStoreFSVerity(ctx context.Context, c Config) error {
	res, err := storeverity.CheckFile(ctx, filepath.Join(e.InitrdRoot, c.Manifest), c.Digest, storeverity.CheckOptions{
		FileCheckOptions: closure.FileCheckOptions{CheckOptions: closure.CheckOptions{Root: c.Root, Jobs: c.Jobs, Metadata: closure.AllMetadataChecks}}})
	if err != nil {
		return fmt.Errorf("%w: fsverity=on: %w", ErrFailed, err)
	}
	return e.report(res.Report, " (fs-verity digests, no contents read)")
}
