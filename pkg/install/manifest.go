package install

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

// closureManifest makes the closure manifest of a system toplevel: from
// Nix's database (the closure from `nix-store -qR`, the NAR hashes and
// sizes Nix registered from `nix-store --dump-db`, read by the same parser
// as closureInfo's registration), or by hashing the store.
func closureManifest(ctx context.Context, toplevel, from, storeDir string) ([]byte, error) {
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
	return m.Marshal(), nil
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
