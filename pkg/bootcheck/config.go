package bootcheck

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// Prefix is the namespace of our kernel command line parameters.
const Prefix = "nix-closure-verify"

// Action is what happens when a check fails.
type Action string

// The failure actions.
const (
	ActionHalt  Action = "halt"
	ActionWarn  Action = "warn"
	ActionShell Action = "shell"
	ActionFail  Action = "fail"
)

// Defaults.
const (
	DefaultManifest = "/etc/nix-closure-verify/manifest"
	DefaultRoot     = "/sysroot"
	DefaultName     = "nix-store"
)

// Config is what the command line asks for.
type Config struct {
	Enabled    bool // any of our parameters present
	Store      bool // check the store against the manifest
	Manifest   string
	Digest     *closure.ManifestDigest
	Root       string
	Jobs       int
	Image      string
	HashDevice string
	HashOffset uint64
	RootHash   []byte
	Name       string
	OnFailure  Action
}

var knownKeys = map[string]bool{
	"manifest": true, "digest": true, "root": true, "store": true, "image": true, "hash-device": true,
	"hash-offset": true, "root-hash": true, "name": true, "on-failure": true, "jobs": true,
}

// ParseConfig reads our parameters from a kernel command line. The failure
// action is parsed first, so that even a config error can be acted on as
// the command line asked.
func ParseConfig(cmdline string) (Config, error) {
	p := kcmdline.WithPrefix(kcmdline.Parse(cmdline), Prefix)
	c := Config{Enabled: len(p) > 0, Store: true, Manifest: DefaultManifest, Root: DefaultRoot,
		Name: DefaultName, OnFailure: ActionHalt}
	if v, ok := p["on-failure"]; ok {
		switch a := Action(v); a {
		case ActionHalt, ActionWarn, ActionShell, ActionFail:
			c.OnFailure = a
		default:
			return c, fmt.Errorf("%s.on-failure=%q: not one of halt, warn, shell, fail", Prefix, v)
		}
	}
	var unknown []string
	for k := range p {
		if !knownKeys[k] {
			unknown = append(unknown, Prefix+"."+k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return c, fmt.Errorf("unknown kernel parameter %s", strings.Join(unknown, ", "))
	}
	if v, ok := p["manifest"]; ok {
		c.Manifest = v
	}
	if v, ok := p["root"]; ok {
		c.Root = v
	}
	if v, ok := p["name"]; ok {
		if v == "" || strings.ContainsAny(v, "/ ") || len(v) > 127 {
			return c, fmt.Errorf("%s.name=%q: not a device-mapper name", Prefix, v)
		}
		c.Name = v
	}
	if v, ok := p["store"]; ok {
		switch v {
		case "on":
		case "off":
			c.Store = false
		default:
			return c, fmt.Errorf("%s.store=%q: expected on or off", Prefix, v)
		}
	}
	if v, ok := p["digest"]; ok {
		d, err := closure.ParseDigest(v)
		if err != nil {
			return c, fmt.Errorf("%s.digest: %v", Prefix, err)
		}
		c.Digest = &d
	}
	if v, ok := p["jobs"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("%s.jobs=%q: expected a positive number", Prefix, v)
		}
		c.Jobs = n
	}
	c.Image = p["image"]
	c.HashDevice = p["hash-device"]
	if v, ok := p["hash-offset"]; ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s.hash-offset=%q: expected a byte count", Prefix, v)
		}
		c.HashOffset = n
	}
	if v, ok := p["root-hash"]; ok {
		h, err := hex.DecodeString(v)
		if err != nil || len(h) != 32 {
			return c, fmt.Errorf("%s.root-hash: expected 64 hex digits (sha256), got %d characters", Prefix, len(v))
		}
		c.RootHash = h
	}
	if c.Image != "" && c.RootHash == nil {
		return c, fmt.Errorf("%s.image is set but %s.root-hash is not", Prefix, Prefix)
	}
	if c.Image == "" && (c.RootHash != nil || c.HashDevice != "") {
		return c, fmt.Errorf("%s.root-hash or hash-device given without %s.image", Prefix, Prefix)
	}
	return c, nil
}
