package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ConfigVersion is the only configuration file version this package reads.
const ConfigVersion = 1

// maxConfigSize bounds the configuration file read into memory; the module
// writes a few hundred bytes.
const maxConfigSize = 1 << 20

// ErrConfig is wrapped by every error about the configuration file's
// contents (as opposed to failing to read it).
var ErrConfig = errors.New("install configuration")

// Config is the install configuration file (JSON, one object) the NixOS
// module writes to the store and `nix-uki install --config` reads. It holds
// only paths and settings, never secrets: keys are named by path or by a
// pkcs11:/tpm: URI. Every field has a command-line flag that wins over it.
// A nil pointer or empty value means the default.
type Config struct {
	// Version must be ConfigVersion.
	Version int `json:"version"`
	// ESPs are the mount points of the EFI system partitions to install
	// to (--esp, repeatable); at least one, from here or the flags.
	ESPs []string `json:"esps,omitempty"`
	// XBOOTLDR, when set, is the mount point of an Extended Boot Loader
	// partition: UKIs go to its EFI/Linux instead of each ESP's
	// (--xbootldr).
	XBOOTLDR *string `json:"xbootldr,omitempty"`
	// Profiles is the directory holding the system-N-link generation
	// links (--profiles); default /nix/var/nix/profiles.
	Profiles *string `json:"profiles,omitempty"`
	// Stub is the systemd-stub every UKI is built on (--stub).
	Stub *string `json:"stub,omitempty"`
	// SystemdBoot is the systemd-boot EFI binary installed, signed, as
	// EFI/systemd/systemd-bootx64.efi and EFI/BOOT/BOOTX64.EFI
	// (--systemd-boot).
	SystemdBoot *string `json:"systemdBoot,omitempty"`
	// SecureBoot names the Secure Boot signing key and certificate.
	SecureBoot *SecureBootConfig `json:"secureBoot,omitempty"`
	// ConfigurationLimit is how many of the newest generations are
	// installed (--configuration-limit); 0 means all.
	ConfigurationLimit *int `json:"configurationLimit,omitempty"`
	// Loader holds loader.conf keys and their values, written as given
	// (freeform); "default" is always set by the installer and may not be
	// given here.
	Loader map[string]string `json:"loader,omitempty"`
	// SortKey is the SORT_KEY written into each UKI's .osrel (--sort-key);
	// default "nixos".
	SortKey *string `json:"sortKey,omitempty"`
	// BootCounting configures systemd-boot's boot counting.
	BootCounting *BootCountingConfig `json:"bootCounting,omitempty"`
	// ClosureCheck configures the closure manifest embedded in each UKI
	// and the store check at boot.
	ClosureCheck *ClosureCheckConfig `json:"closureCheck,omitempty"`
	// MeasuredBoot, when set, adds a signed PCR 11 policy (.pcrsig) to
	// each UKI; nil means none.
	MeasuredBoot *MeasuredBootConfig `json:"measuredBoot,omitempty"`
	// ExtraKernelParams are appended after each bootspec's kernelParams.
	ExtraKernelParams []string `json:"extraKernelParams,omitempty"`
}

// SecureBootConfig names the Secure Boot signing key.
type SecureBootConfig struct {
	// PrivateKey is the db signing key: a path or a pkcs11:/tpm: URI
	// (--secureboot-private-key). Never under /nix/store.
	PrivateKey *string `json:"privateKey,omitempty"`
	// Certificate is the PEM certificate of PrivateKey
	// (--secureboot-certificate).
	Certificate *string `json:"certificate,omitempty"`
	// AllowUnsigned installs unsigned images when no key is configured,
	// for a first install before keys exist (--allow-unsigned).
	AllowUnsigned *bool `json:"allowUnsigned,omitempty"`
}

// BootCountingConfig configures systemd-boot's boot counting.
type BootCountingConfig struct {
	// Tries is the number of boot attempts a new entry gets ("+N" in its
	// file name, --boot-counting N); 0 turns boot counting off.
	Tries *int `json:"tries,omitempty"`
}

// ClosureCheckConfig configures the closure manifest each UKI carries.
type ClosureCheckConfig struct {
	// Enable embeds the generation's closure manifest and the check's
	// settings in the UKI (--closure-check); default true.
	Enable *bool `json:"enable,omitempty"`
	// OnFailure is what the check at boot does on a mismatch: halt, warn,
	// shell or fail (--closure-on-failure); default halt.
	OnFailure *string `json:"onFailure,omitempty"`
	// Jobs is the number of parallel hashing jobs at boot; 0 means the
	// number of CPUs (--closure-jobs).
	Jobs *int `json:"jobs,omitempty"`
	// ManifestFrom says where the manifest's hashes come from: "db"
	// (Nix's database, the default) or "hash" (hashing the store)
	// (--manifest-from).
	ManifestFrom *string `json:"manifestFrom,omitempty"`
	// FSVerity makes each new generation's manifest a version 2 one
	// (per file, with fs-verity digests), turns fs-verity on for every
	// file of its closure before its UKI is written, and has the check at
	// boot compare the digests the kernel reports instead of reading the
	// files (--closure-fsverity); default false. The store's filesystem
	// must support fs-verity (ext4: tune2fs -O verity) and be writable by
	// the installer.
	FSVerity *bool `json:"fsverity,omitempty"`
}

// MeasuredBootConfig configures the signed PCR 11 policy.
type MeasuredBootConfig struct {
	// PCRPrivateKey signs the PCR 11 policies (--pcr-private-key).
	PCRPrivateKey *string `json:"pcrPrivateKey,omitempty"`
	// PCRPublicKey is the public key embedded as .pcrpkey
	// (--pcr-public-key).
	PCRPublicKey *string `json:"pcrPublicKey,omitempty"`
	// Banks are the PCR banks to sign for (--pcr-banks); default sha256.
	Banks []string `json:"banks,omitempty"`
	// Phases are the boot phase paths to sign for (--phases); default
	// enter-initrd.
	Phases []string `json:"phases,omitempty"`
}

// Load reads and checks the configuration file at path. Unknown fields, a
// missing or different version, and values out of range are errors
// wrapping ErrConfig.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrConfig, maxConfigSize)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses a configuration file's contents; see Load.
func ParseConfig(data []byte) (*Config, error) {
	// json.Unmarshal also refuses data after the object.
	// The version is checked first, on its own, so that a file of another
	// version is reported as such rather than by its first unknown field.
	var v struct {
		Version *json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if v.Version == nil || strings.TrimSpace(string(*v.Version)) != fmt.Sprint(ConfigVersion) {
		got := "missing"
		if v.Version != nil {
			got = string(*v.Version)
		}
		return nil, fmt.Errorf("%w: version %s, understood: %d", ErrConfig, got, ConfigVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &c, nil
}

// check rejects values no flag would accept.
func (c *Config) check() error {
	if c.ConfigurationLimit != nil && *c.ConfigurationLimit < 0 {
		return fmt.Errorf("configurationLimit %d is negative", *c.ConfigurationLimit)
	}
	if c.BootCounting != nil && c.BootCounting.Tries != nil && *c.BootCounting.Tries < 0 {
		return fmt.Errorf("bootCounting.tries %d is negative", *c.BootCounting.Tries)
	}
	if cc := c.ClosureCheck; cc != nil {
		if cc.Jobs != nil && *cc.Jobs < 0 {
			return fmt.Errorf("closureCheck.jobs %d is negative", *cc.Jobs)
		}
		if cc.OnFailure != nil {
			switch *cc.OnFailure {
			case "halt", "warn", "shell", "fail":
			default:
				return fmt.Errorf("closureCheck.onFailure %q: want halt, warn, shell or fail", *cc.OnFailure)
			}
		}
		if cc.ManifestFrom != nil && *cc.ManifestFrom != ManifestFromDB && *cc.ManifestFrom != ManifestFromHash {
			return fmt.Errorf("closureCheck.manifestFrom %q: want %s or %s", *cc.ManifestFrom, ManifestFromDB, ManifestFromHash)
		}
	}
	for k, v := range c.Loader {
		if err := checkLoaderKey(k, v); err != nil {
			return fmt.Errorf("loader: %w", err)
		}
	}
	for _, p := range c.ExtraKernelParams {
		if p == "" || strings.ContainsAny(p, "\x00\n") {
			return fmt.Errorf("extraKernelParams: %q is not a kernel parameter", p)
		}
	}
	return nil
}

// Where a closure manifest's hashes come from.
const (
	ManifestFromDB   = "db"
	ManifestFromHash = "hash"
)

// checkLoaderKey rejects a loader.conf key or value that would not stay one
// line, and "default", which the installer owns.
func checkLoaderKey(k, v string) error {
	if k == "default" {
		return errors.New(`"default" is set by the installer (the newest generation)`)
	}
	if k == "" || strings.ContainsAny(k, " \t\r\n#\x00") {
		return fmt.Errorf("key %q is not a loader.conf key", k)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("value of %q spans lines", k)
	}
	return nil
}
