package bootcheck

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
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

// strictness orders the actions: halt stops the boot for good, fail lets
// the caller decide, shell hands the machine to whoever is at the console,
// warn boots anyway. A command line may only move towards halt.
var strictness = map[Action]int{ActionWarn: 1, ActionShell: 2, ActionFail: 3, ActionHalt: 4}

// stricter returns the stricter of two actions (halt when neither is known).
func stricter(a, b Action) Action {
	if strictness[b] > strictness[a] {
		a = b
	}
	if strictness[a] == 0 {
		return ActionHalt
	}
	return a
}

// Defaults.
const (
	DefaultManifest = "/" + closure.InitrdPath
	DefaultRoot     = "/sysroot"
	DefaultName     = "nix-store"
)

// Errors a configuration can fail with; each is wrapped with the
// parameter it is about.
var (
	ErrUnknownParam = errors.New("unknown parameter")
	ErrBadValue     = errors.New("malformed value")
	ErrConflict     = errors.New("set twice with different values")
	ErrInconsistent = errors.New("inconsistent settings")
)

// Config is what the check does at boot.
type Config struct {
	Store      bool // check the store against the manifest
	FSVerity   bool // check each file's fs-verity digest instead of reading it
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

	// The medium the image is on (an ISO 9660 volume found by label
	// and/or UUID, mounted read-only); Image and HashDevice are then paths
	// on it. MediumWait bounds the wait for it to appear.
	MediumLabel string
	MediumUUID  string
	MediumWait  time.Duration
	// StoreMount is where the opened image is mounted read-only (default
	// with a medium: Root/nix/store; without one, or with store-mount=off,
	// not mounted: the system mounts /dev/mapper/NAME itself).
	StoreMount string
}

// DefaultMediumWait is how long the boot check waits for the medium: USB
// and optical drives may appear seconds after the initrd starts.
const DefaultMediumWait = 60 * time.Second

// defaults are the values of the keys that have one, written as a
// parameter would give them, so a command line word can be compared with
// the value the signed settings leave in place.
var defaults = map[string]string{
	"manifest": DefaultManifest, "root": DefaultRoot, "store": "on", "name": DefaultName,
	"hash-offset": "0", "on-failure": string(ActionHalt), "fsverity": "off",
	"medium-wait": "60",
}

// setters parse one key's value into a Config. Every key we know is here.
var setters = map[string]func(c *Config, v string) error{
	"manifest": func(c *Config, v string) error {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%w: expected an absolute path inside the initrd", ErrBadValue)
		}
		c.Manifest = v
		return nil
	},
	"digest": func(c *Config, v string) error {
		d, err := closure.ParseDigest(v)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadValue, err)
		}
		c.Digest = &d
		return nil
	},
	"root": func(c *Config, v string) error {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%w: expected an absolute path", ErrBadValue)
		}
		c.Root = v
		return nil
	},
	"store":       func(c *Config, v string) error { return onOff(&c.Store, v) },
	"fsverity":    func(c *Config, v string) error { return onOff(&c.FSVerity, v) },
	"image":       func(c *Config, v string) error { return nonEmpty(&c.Image, v) },
	"hash-device": func(c *Config, v string) error { return nonEmpty(&c.HashDevice, v) },
	"hash-offset": func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: expected a byte count", ErrBadValue)
		}
		c.HashOffset = n
		return nil
	},
	"root-hash": func(c *Config, v string) error {
		h, err := verity.ParseRootHash(v)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadValue, err)
		}
		c.RootHash = h
		return nil
	},
	"name": func(c *Config, v string) error {
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/ ") || len(v) > 127 {
			return fmt.Errorf("%w: not a device-mapper name", ErrBadValue)
		}
		c.Name = v
		return nil
	},
	"on-failure": func(c *Config, v string) error {
		a := Action(v)
		if strictness[a] == 0 {
			return fmt.Errorf("%w: not one of halt, warn, shell, fail", ErrBadValue)
		}
		c.OnFailure = a
		return nil
	},
	"medium-label": func(c *Config, v string) error {
		if len(v) > 32 || strings.ContainsAny(v, " \"") {
			return fmt.Errorf("%w: a volume label of at most 32 characters, no spaces or quotes", ErrBadValue)
		}
		return nonEmpty(&c.MediumLabel, v)
	},
	"medium-uuid": func(c *Config, v string) error {
		if !isoUUID(v) {
			return fmt.Errorf("%w: expected an ISO 9660 volume UUID, YYYY-MM-DD-HH-MM-SS-CC", ErrBadValue)
		}
		c.MediumUUID = v
		return nil
	},
	"medium-wait": func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3600 {
			return fmt.Errorf("%w: expected a number of seconds from 1 to 3600", ErrBadValue)
		}
		c.MediumWait = time.Duration(n) * time.Second
		return nil
	},
	"store-mount": func(c *Config, v string) error {
		if v == "off" {
			c.StoreMount = ""
			return nil
		}
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%w: expected an absolute path or off", ErrBadValue)
		}
		c.StoreMount = v
		return nil
	},
	"jobs": func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4096 {
			return fmt.Errorf("%w: expected a number of workers from 1 to 4096", ErrBadValue)
		}
		c.Jobs = n
		return nil
	},
}

// onOff sets a switch from "on" or "off".
func onOff(dst *bool, v string) error {
	switch v {
	case "on":
		*dst = true
	case "off":
		*dst = false
	default:
		return fmt.Errorf("%w: expected on or off", ErrBadValue)
	}
	return nil
}

// isoUUID accepts blkid's form of an ISO 9660 volume date.
func isoUUID(v string) bool {
	if len(v) != 22 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if dash := i >= 4 && i%3 == 1; dash != (v[i] == '-') || !dash && (v[i] < '0' || v[i] > '9') {
			return false
		}
	}
	return true
}

// nonEmpty sets a device path, which may not be empty.
func nonEmpty(dst *string, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty", ErrBadValue)
	}
	*dst = v
	return nil
}

// Values are settings by key (without the prefix, "-" between words), as
// the settings file and the command line give them.
type Values map[string]string

// keys returns the keys in byte order, so that errors and files come out
// the same every time.
func (v Values) keys() []string {
	ks := make([]string, 0, len(v))
	for k := range v {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// action returns the failure action the values ask for, when valid.
func (v Values) action() (Action, bool) {
	a := Action(v["on-failure"])
	return a, strictness[a] != 0
}

// Config validates the values and returns the configuration they make,
// defaults filled in. The failure action is set first, so that even a
// configuration error can be acted on as asked.
func (v Values) Config() (Config, error) {
	c := Config{Store: true, Manifest: DefaultManifest, Root: DefaultRoot, Name: DefaultName, OnFailure: ActionHalt, MediumWait: DefaultMediumWait}
	if a, ok := v.action(); ok {
		c.OnFailure = a
	}
	for _, k := range v.keys() {
		set, ok := setters[k]
		if !ok {
			return c, fmt.Errorf("%w %s.%s", ErrUnknownParam, Prefix, k)
		}
		if err := set(&c, v[k]); err != nil {
			return c, fmt.Errorf("%s.%s=%q: %w", Prefix, k, v[k], err)
		}
	}
	if err := c.consistent(v); err != nil {
		return c, err
	}
	if c.onMedium() && v["store-mount"] == "" {
		c.StoreMount = strings.TrimSuffix(c.Root, "/") + "/nix/store"
	}
	return c, nil
}

// consistent refuses settings that ask for something that cannot be done
// as asked: an image without its root hash, image or medium parameters
// without an image, fs-verity digests without a store check to compare
// them in.
func (c Config) consistent(v Values) error {
	switch {
	case c.FSVerity && !c.Store:
		return fmt.Errorf("%w: %s.fsverity=on without the store check (%s.store=off)", ErrInconsistent, Prefix, Prefix)
	case c.Image != "" && c.RootHash == nil:
		return fmt.Errorf("%w: %s.image is set but %s.root-hash is not", ErrInconsistent, Prefix, Prefix)
	case c.Image == "" && (c.RootHash != nil || c.HashDevice != "" || v["hash-offset"] != ""):
		return fmt.Errorf("%w: %s.root-hash, hash-device or hash-offset given without %s.image", ErrInconsistent, Prefix, Prefix)
	case c.Image == "" && (c.MediumLabel != "" || c.MediumUUID != "" || v["store-mount"] != ""):
		return fmt.Errorf("%w: %s.medium-label, medium-uuid or store-mount given without %s.image", ErrInconsistent, Prefix, Prefix)
	case c.onMedium() && (!strings.HasPrefix(c.Image, "/") || c.HashDevice != "" && !strings.HasPrefix(c.HashDevice, "/")):
		return fmt.Errorf("%w: with a medium, %s.image and hash-device are absolute paths on it", ErrInconsistent, Prefix)
	}
	return nil
}

// onMedium says whether the image is on a medium the check must find.
func (c Config) onMedium() bool { return c.MediumLabel != "" || c.MediumUUID != "" }
