package ukibuild

import (
	"crypto"
	"crypto/x509"

	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// Inputs are everything a UKI is made of. Paths name files that are read
// when the image is written (streamed, so memory does not grow with them);
// their sizes are taken by Compose, and a file that changes size before it
// is copied makes the write fail.
type Inputs struct {
	Stub    []byte   // an unsigned systemd-stub image (.sdmagic names its version)
	Linux   string   // kernel image path (.linux, required)
	Initrds []string // initrd paths, concatenated in order (.initrd)

	Cmdline   []byte // kernel command line (.cmdline)
	OSRelease []byte // os-release (.osrel)
	// Uname is the kernel release (.uname); nil reads it from an x86
	// kernel's header, as ukify does (none found: no .uname).
	Uname []byte

	Splash     string // boot splash BMP path (.splash)
	DeviceTree string // device tree path (.dtb)
	Microcode  string // microcode initrd path (.ucode)
	// PCRPKey is the PCR signing public key path (.pcrpkey). Empty with
	// exactly one PCR key group: that group's public key, PEM.
	PCRPKey string

	// SBAT is the user's SBAT, merged after the stub's, the kernel's and
	// the defaults (sbat.UKIDefaults for SBATVendor); an entry for a
	// component they list replaces theirs (so "systemd,2,..." raises the
	// stub's generation), never with a lower generation.
	SBAT []sbat.Source
	// SBATVendor names the default vendor lines; the zero Vendor is
	// sbat.DefaultVendor.
	SBATVendor sbat.Vendor

	// Sections are extra named sections, added as given.
	Sections []uki.Section

	// Profile is the .profile of profile 0 ("ID=main" when Profiles are
	// given without it, as ukify does); nil with no Profiles: no profiles.
	Profile []byte
	// Profiles are further profiles (systemd-stub 257 and later), 1, 2 ...
	// in order, each replacing some of the base's sections.
	Profiles []Profile

	// ClosureManifest is the path of a closure manifest to embed: its cpio
	// after the initrds, its digest on the command line (pkg/closure).
	ClosureManifest string

	// SigningKey and Certificates sign the image (Authenticode, SHA-256):
	// Certificates[0] is the key's certificate, the rest intermediates to
	// embed. No key: the image is not signed.
	SigningKey   crypto.Signer
	Certificates []*x509.Certificate

	PCR PCR
}

// Profile is one profile of a multi-profile UKI: the stub started with
// "@N" (or systemd-boot's entry for it) boots the base with these
// sections in place of the base's. Same inputs as ukify's profile PEs
// (--join-profile).
type Profile struct {
	// Profile is the .profile section: "KEY=VALUE" lines, ID= and
	// TITLE= (required, non-empty).
	Profile   []byte
	Cmdline   []byte // replaces .cmdline
	OSRelease []byte // replaces .osrel
	// Sections replace the base's of the same name (uki.ProfileSectionNames).
	Sections []uki.Section
}

// PCR says what to predict and sign for PCR 11.
type PCR struct {
	// Predict asks for the prediction even without key groups.
	Predict bool
	// Banks to predict and sign; none means measure.AllBanks.
	Banks []measure.Bank
	// Phases to predict; none means the groups' phase paths (see
	// measure.GroupPhases) or, without groups, systemd-measure's defaults.
	Phases []measure.Phase
	// Groups sign PolicyPCR digests for their phase paths; the signatures
	// go into .pcrsig.
	Groups []measure.KeyGroup
}

func (p PCR) wanted() bool { return p.Predict || len(p.Groups) > 0 }

// InputError is an error about one input, named by ukify's option name
// ("closure-manifest", "splash"), with the file when there is one, so a
// command can point at the option that was wrong.
type InputError struct {
	Input string
	Path  string
	Err   error
}

func (e *InputError) Error() string {
	if e.Path != "" {
		return e.Input + " " + e.Path + ": " + e.Err.Error()
	}
	return e.Input + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErr(input, path string, err error) error {
	if err == nil {
		return nil
	}
	return &InputError{Input: input, Path: path, Err: err}
}
