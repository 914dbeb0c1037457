package install

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

// closureManifest makes the closure manifest of a system toplevel: from
// Nix's database (the closure from `nix-store -qR`, the NAR hashes and
// sizes Nix registered from `nix-store --dump-db`, read by the same parser
// as closureInfo's registration), or by hashing the store.
func closureManifest(ctx context.Context, toplevel, from, storeDir string) ([]byte, error) {
	m, err := closureOf(ctx, toplevel, from, storeDir)
	if err != nil {
		return nil, err
	}
	return m.Marshal(), nil
}

// closureManifestV2 makes the version 2 manifest of a system toplevel
// into w: the store paths and NAR hashes as closureManifest has them, each
// path's files hashed under root and refused unless they reproduce that
// NAR hash (closure.RecordV2), as `nix-closure-verify manifest --format v2`
// does.
func closureManifestV2(ctx context.Context, w io.Writer, toplevel, from, storeDir, root string) error {
	m, err := closureOf(ctx, toplevel, from, storeDir)
	if err != nil {
		return err
	}
	blocks, err := closure.RecordV2(ctx, m, closure.RecordOptions{Root: root})
	if err != nil {
		return fmt.Errorf("closure of %s: %w", toplevel, err)
	}
	return closure.WriteManifestV2(w, m.StoreDir, blocks)
}

// closureOf lists the closure of a toplevel with each path's NAR hash.
func closureOf(ctx context.Context, toplevel, from, storeDir string) (*closure.Manifest, error) {
	var entries []closure.Entry
	switch from {
	case ManifestFromHash:
		var err error
		if entries, err = closure.Rehash(ctx, []string{toplevel}, closure.RehashOptions{StoreDir: storeDir}); err != nil {
			return nil, fmt.Errorf("hashing the closure of %s: %w", toplevel, err)
		}
	default:
		paths, err := nixStore(ctx, "-qR", toplevel)
		if err != nil {
			return nil, err
		}
		reg, err := nixStore(ctx, append([]string{"--dump-db"}, strings.Fields(string(paths))...)...)
		if err != nil {
			return nil, err
		}
		if entries, err = closure.ParseRegistration(bytes.NewReader(reg)); err != nil {
			return nil, fmt.Errorf("nix-store --dump-db for %s: %w", toplevel, err)
		}
	}
	m, err := closure.NewManifest(storeDir, entries)
	if err != nil {
		return nil, fmt.Errorf("closure of %s: %w", toplevel, err)
	}
	return m, nil
}

func nixStore(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nix-store", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("nix-store %s: %w: %s", args[0], err, msg)
	}
	return out, nil
}
