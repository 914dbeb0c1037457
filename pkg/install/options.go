package install

import (
	"errors"
	"fmt"
	"maps"

	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/generation"
)

// Options are a Config resolved: defaults filled in, requirements checked,
// plus what only the command line sets.
type Options struct {
	ESPs          []string
	XBOOTLDR      string
	Profiles      string
	Stub          string
	SystemdBoot   string
	SigningKey    string // path, or a pkcs11:/tpm: reference
	Certificate   string
	AllowUnsigned bool
	Limit         int // 0: all
	Loader        map[string]string
	SortKey       string
	Tries         int
	Closure       bool
	OnFailure     string
	Jobs          int
	ManifestFrom  string
	FSVerity      bool   // version 2 manifests, fs-verity enabled, fsverity=on at boot
	PCRKey        string // empty: no .pcrsig
	PCRPublicKey  string
	PCRBanks      []string
	Phases        []string
	ExtraParams   []string

	// Toplevel is the system NixOS passes (optional): its generation
	// becomes the default.
	Toplevel string
	// BootedSystem names the running system (/run/booted-system); its
	// entry is never removed.
	BootedSystem string
	// ForceLoaderConf overwrites a loader.conf another tool wrote.
	ForceLoaderConf bool
	// RequireVFAT refuses partitions that are not FAT (not mounted).
	RequireVFAT bool
	// StoreDir is the Nix store directory (paths under it are immutable).
	StoreDir string
	// StoreRoot is the directory the store lives under ("" or "/" for
	// the running system); tests give another.
	StoreRoot string
	// TempDir holds the closure manifests while they are embedded.
	TempDir string
	// OpenFS opens a partition; nil is esp.OpenOS with RequireVFAT. Tests
	// give a fault-injecting one.
	OpenFS func(dir string) (esp.FS, error)
}

// Defaults.
const (
	DefaultBootedSystem = "/run/booted-system"
	DefaultSortKey      = "nixos"
	DefaultOnFailure    = "halt"
)

// ErrOptions is wrapped by errors about missing or conflicting settings.
var ErrOptions = errors.New("install settings")

// Merge returns base with every field over sets replacing base's (a flag
// given on the command line wins over the file). Loader keys merge one by
// one. Neither argument is changed.
func Merge(base, over *Config) *Config {
	c := *base
	if len(over.ESPs) > 0 {
		c.ESPs = over.ESPs
	}
	set(&c.XBOOTLDR, over.XBOOTLDR)
	set(&c.Profiles, over.Profiles)
	set(&c.Stub, over.Stub)
	set(&c.SystemdBoot, over.SystemdBoot)
	set(&c.ConfigurationLimit, over.ConfigurationLimit)
	set(&c.SortKey, over.SortKey)
	if over.SecureBoot != nil {
		sb := SecureBootConfig{}
		if c.SecureBoot != nil {
			sb = *c.SecureBoot
		}
		set(&sb.PrivateKey, over.SecureBoot.PrivateKey)
		set(&sb.Certificate, over.SecureBoot.Certificate)
		set(&sb.AllowUnsigned, over.SecureBoot.AllowUnsigned)
		c.SecureBoot = &sb
	}
	if over.BootCounting != nil {
		bc := BootCountingConfig{}
		if c.BootCounting != nil {
			bc = *c.BootCounting
		}
		set(&bc.Tries, over.BootCounting.Tries)
		c.BootCounting = &bc
	}
	if over.ClosureCheck != nil {
		cc := ClosureCheckConfig{}
		if c.ClosureCheck != nil {
			cc = *c.ClosureCheck
		}
		set(&cc.Enable, over.ClosureCheck.Enable)
		set(&cc.OnFailure, over.ClosureCheck.OnFailure)
		set(&cc.Jobs, over.ClosureCheck.Jobs)
		set(&cc.ManifestFrom, over.ClosureCheck.ManifestFrom)
		set(&cc.FSVerity, over.ClosureCheck.FSVerity)
		c.ClosureCheck = &cc
	}
	if over.MeasuredBoot != nil {
		mb := MeasuredBootConfig{}
		if c.MeasuredBoot != nil {
			mb = *c.MeasuredBoot
		}
		set(&mb.PCRPrivateKey, over.MeasuredBoot.PCRPrivateKey)
		set(&mb.PCRPublicKey, over.MeasuredBoot.PCRPublicKey)
		if len(over.MeasuredBoot.Banks) > 0 {
			mb.Banks = over.MeasuredBoot.Banks
		}
		if len(over.MeasuredBoot.Phases) > 0 {
			mb.Phases = over.MeasuredBoot.Phases
		}
		c.MeasuredBoot = &mb
	}
	if len(over.Loader) > 0 {
		c.Loader = maps.Clone(c.Loader)
		if c.Loader == nil {
			c.Loader = map[string]string{}
		}
		maps.Copy(c.Loader, over.Loader)
	}
	if over.ExtraKernelParams != nil {
		c.ExtraKernelParams = over.ExtraKernelParams
	}
	return &c
}

func set[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

func val[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Options resolves the configuration. It checks it again (a merged
// configuration may hold flag values Load never saw) and requires at
// least one ESP, the stub, systemd-boot, and a signing key with its
// certificate unless unsigned images are allowed.
func (c *Config) Options() (Options, error) {
	if err := c.check(); err != nil {
		return Options{}, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	o := Options{
		ESPs:         c.ESPs,
		XBOOTLDR:     val(c.XBOOTLDR, ""),
		Profiles:     val(c.Profiles, generation.DefaultProfiles),
		Stub:         val(c.Stub, ""),
		SystemdBoot:  val(c.SystemdBoot, ""),
		Limit:        val(c.ConfigurationLimit, 0),
		Loader:       map[string]string{"editor": "no"},
		SortKey:      val(c.SortKey, DefaultSortKey),
		Closure:      true,
		OnFailure:    DefaultOnFailure,
		ManifestFrom: ManifestFromDB,
		ExtraParams:  c.ExtraKernelParams,
		BootedSystem: DefaultBootedSystem,
		RequireVFAT:  true,
	}
	maps.Copy(o.Loader, c.Loader)
	if sb := c.SecureBoot; sb != nil {
		o.SigningKey = val(sb.PrivateKey, "")
		o.Certificate = val(sb.Certificate, "")
		o.AllowUnsigned = val(sb.AllowUnsigned, false)
	}
	if bc := c.BootCounting; bc != nil {
		o.Tries = val(bc.Tries, 0)
	}
	if cc := c.ClosureCheck; cc != nil {
		o.Closure = val(cc.Enable, true)
		o.OnFailure = val(cc.OnFailure, DefaultOnFailure)
		o.Jobs = val(cc.Jobs, 0)
		o.ManifestFrom = val(cc.ManifestFrom, ManifestFromDB)
		o.FSVerity = val(cc.FSVerity, false)
		if o.FSVerity && !o.Closure {
			return o, fmt.Errorf("%w: closureCheck.fsverity (--closure-fsverity) needs the closure check (closureCheck.enable, --closure-check)", ErrOptions)
		}
	}
	if mb := c.MeasuredBoot; mb != nil {
		o.PCRKey = val(mb.PCRPrivateKey, "")
		o.PCRPublicKey = val(mb.PCRPublicKey, "")
		o.PCRBanks = mb.Banks
		o.Phases = mb.Phases
		if o.PCRKey == "" {
			return o, fmt.Errorf("%w: measuredBoot needs pcrPrivateKey (--pcr-private-key)", ErrOptions)
		}
		if len(o.PCRBanks) == 0 {
			o.PCRBanks = []string{"sha256"}
		}
		if len(o.Phases) == 0 {
			o.Phases = []string{"enter-initrd"}
		}
	}
	switch {
	case len(o.ESPs) == 0:
		return o, fmt.Errorf("%w: no ESP (--esp DIR or \"esps\")", ErrOptions)
	case o.Stub == "":
		return o, fmt.Errorf("%w: no systemd-stub (--stub FILE or \"stub\")", ErrOptions)
	case o.SystemdBoot == "":
		return o, fmt.Errorf("%w: no systemd-boot (--systemd-boot FILE or \"systemdBoot\")", ErrOptions)
	case (o.SigningKey == "") != (o.Certificate == ""):
		return o, fmt.Errorf("%w: the Secure Boot private key and certificate go together", ErrOptions)
	case o.SigningKey == "" && !o.AllowUnsigned:
		return o, fmt.Errorf("%w: no Secure Boot signing key (--secureboot-private-key and --secureboot-certificate, or --allow-unsigned for a first install before keys exist)", ErrOptions)
	}
	return o, nil
}
