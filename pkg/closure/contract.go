package closure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/cpio"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// The contract between nix-uki, which puts a closure manifest into a UKI,
// and nix-closure-verify, which finds and checks it at boot. Both sides use
// these names and nothing else, so they cannot drift apart.
const (
	// InitrdDir and InitrdPath are where the manifest lives in the initrd
	// (relative to its root; /etc/nix-closure-verify/manifest at boot).
	InitrdDir  = "etc/nix-closure-verify"
	InitrdPath = InitrdDir + "/manifest"
	// SettingsPath is where the boot check's settings live beside the
	// manifest (pkg/bootcheck owns their format): signed with the initrd,
	// they, not the command line, say what the check does at boot.
	SettingsPath = InitrdDir + "/settings"
	// DigestParam is the kernel command line parameter that carries the
	// manifest's digest.
	DigestParam = "nix-closure-verify.digest"
	// MaxManifestSize bounds what is read before the digest is known; a
	// real manifest is about 150 bytes a store path.
	MaxManifestSize = 256 << 20
)

// ErrNoSettings is returned by InitrdArchive when it is given no settings.
var ErrNoSettings = errors.New("a closure manifest is embedded only with the boot check's settings")

// ErrDigestMismatch is returned when a manifest's bytes do not have the
// digest the caller expects.
var ErrDigestMismatch = errors.New("manifest digest mismatch")

// ReadManifestFile reads a manifest file's bytes, refusing anything larger
// than MaxManifestSize (without reading more than one byte past it).
func ReadManifestFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("manifest %s is larger than %d bytes", path, MaxManifestSize)
	}
	return data, nil
}

// LoadManifest reads and parses a manifest file. With want, the file's
// digest is compared before anything is parsed, and a mismatch wraps
// ErrDigestMismatch. It returns the manifest and the digest of its bytes.
func LoadManifest(path string, want *ManifestDigest) (*Manifest, ManifestDigest, error) {
	data, err := ReadManifestFile(path)
	if err != nil {
		return nil, ManifestDigest{}, err
	}
	got := DigestOf(data)
	if want != nil && got != *want {
		return nil, got, fmt.Errorf("%w: manifest %s has digest %s, expected %s", ErrDigestMismatch, path, got, *want)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, got, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, got, nil
}

// ValidateManifest checks manifest bytes of either version as the boot
// check would read them.
func ValidateManifest(data []byte) error {
	version, err := ManifestFileVersion(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if version == ManifestVersion {
		_, err := ParseManifest(data)
		return err
	}
	mr, err := NewManifestReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	for {
		if _, err := mr.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// InitrdArchive checks manifest bytes and returns the uncompressed cpio
// archive that puts them at InitrdPath and settings at SettingsPath, to be
// appended to a UKI's initrd (the kernel unpacks concatenated archives in
// order), and the command line parameter DigestParam=<digest> that ties
// them to the image (to be added with kcmdline.Append, which proves it
// survives the kernel's parsing). The settings are written as given and are
// required: without them the boot check would take its settings from a
// command line anyone may extend. Callers get both from
// bootcheck.InitrdArchive, which makes and checks the settings.
func InitrdArchive(data, settings []byte) (archive []byte, param kcmdline.Param, err error) {
	if len(settings) == 0 {
		return nil, param, ErrNoSettings
	}
	if err := ValidateManifest(data); err != nil {
		return nil, param, err
	}
	var a cpio.Archive
	for _, step := range []error{
		a.AddDir("etc", 0o755),
		a.AddDir(InitrdDir, 0o755),
		a.AddBytes(InitrdPath, 0o444, data),
		a.AddBytes(SettingsPath, 0o444, settings),
	} {
		if step != nil {
			return nil, param, fmt.Errorf("closure manifest archive: %w", step)
		}
	}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		return nil, param, fmt.Errorf("closure manifest archive: %w", err)
	}
	return buf.Bytes(), kcmdline.Param{Key: DigestParam, Value: DigestOf(data).String()}, nil
}
