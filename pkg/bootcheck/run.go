package bootcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/progress"
)

// ImageOpener sets up a dm-verity device for the configured image and
// returns its path (/dev/mapper/NAME). It must refuse a root hash that does
// not match the hash tree.
type ImageOpener func(ctx context.Context, c Config) (string, error)

// ErrFailed is wrapped by the error Run returns when a check failed.
var ErrFailed = errors.New("boot check failed")

// Run performs the configured checks, writing what it finds to console:
// every problem on its own line, then one summary line.
func Run(ctx context.Context, c Config, openImage ImageOpener, console io.Writer) error {
	if c.Image != "" {
		start := time.Now()
		dev, err := openImage(ctx, c)
		if err != nil {
			return fmt.Errorf("%w: store image %s: %v", ErrFailed, c.Image, err)
		}
		fmt.Fprintf(console, "%s: store image %s opened through dm-verity as %s (root hash checked, every block verified on read) in %.2f s\n",
			Prefix, c.Image, dev, time.Since(start).Seconds())
	}
	if c.Store {
		if err := checkStore(ctx, c, console); err != nil {
			return err
		}
	}
	return nil
}

func checkStore(ctx context.Context, c Config, console io.Writer) error {
	m, _, err := closure.LoadManifest(c.Manifest, c.Digest)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	rep, err := closure.Check(ctx, m, closure.CheckOptions{Root: c.Root, Jobs: c.Jobs, Metadata: closure.AllMetadataChecks})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFailed, err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(console, "%s: FAILED %s\n", Prefix, p)
	}
	volume := fmt.Sprintf("%s in %.2f s", progress.Bytes(rep.Bytes), rep.Duration.Seconds())
	if !rep.OK() {
		problems := "1 problem"
		if len(rep.Problems) != 1 {
			problems = fmt.Sprintf("%d problems", len(rep.Problems))
		}
		return fmt.Errorf("%w: %d of %d store paths differ from the manifest (%s); checked %s",
			ErrFailed, rep.FailedPaths(), rep.Paths, problems, volume)
	}
	fmt.Fprintf(console, "%s: store ok: %d paths, %s\n", Prefix, rep.Paths, volume)
	return nil
}
