package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// sectionFlags are the options that choose an image's contents. build and
// measure share them, so that measure given build's options predicts
// exactly the image build writes.
type sectionFlags struct {
	stub, linux, cmdline, osrel, uname      string
	splash, dtb, ucode, pcrpkey, closureMan string
	sbatVendor, profile                     string
	initrds, sbats, extra, joinProfiles     []string
}

func (s *sectionFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.stub, "stub", "", "systemd-stub `PATH` (default: the first of "+strings.Join(uki.DefaultStubPaths, ", ")+")")
	fs.StringVar(&s.linux, "linux", "", "kernel image `PATH` (.linux, required)")
	fs.StringArrayVar(&s.initrds, "initrd", nil, "initrd `PATH`; repeatable, concatenated in order (.initrd)")
	fs.StringVar(&s.cmdline, "cmdline", "", "kernel command line `TEXT` (.cmdline)")
	fs.StringVar(&s.osrel, "os-release", "", "os-release `TEXT` (.osrel)")
	fs.StringVar(&s.uname, "uname", "", "kernel release `TEXT` (.uname; default: read from an x86 kernel's header)")
	fs.StringVar(&s.splash, "splash", "", "boot splash BMP `PATH` (.splash)")
	fs.StringVar(&s.dtb, "devicetree", "", "device tree `PATH` (.dtb)")
	fs.StringVar(&s.ucode, "microcode", "", "microcode initrd `PATH` (.ucode)")
	fs.StringArrayVar(&s.sbats, "sbat", nil, "SBAT `TEXT` to merge; repeatable; an entry replaces the stub's, kernel's or default one of its component (see above)")
	fs.StringVar(&s.sbatVendor, "sbat-vendor", "", "`ID,NAME,URL` of the vendor in the default SBAT lines (default: "+sbat.DefaultVendor.String()+")")
	fs.StringVar(&s.pcrpkey, "pcrpkey", "", "PCR signing public key `PATH` (.pcrpkey; default with one --pcr-private-key: its public key)")
	fs.StringArrayVar(&s.extra, "section", nil, "extra section `NAME:TEXT`; repeatable")
	fs.StringVar(&s.profile, "profile", "", "`TEXT` of profile 0's .profile (ID=, TITLE=; systemd-stub 257 and later; default with --join-profile: ID=main)")
	fs.StringArrayVar(&s.joinProfiles, "join-profile", nil, "add the profile in the PE binary `PATH` (made by ukify build --profile=... without --linux); repeatable, profiles 1, 2 ... in order")
	fs.StringVar(&s.closureMan, "closure-manifest", "", "closure manifest `PATH` to embed in .initrd, its digest on .cmdline (see above)")
}

// sbatHelp documents SBAT merging in build's and measure's help.
const sbatHelp = `
SBAT: .sbat holds the stub's entries, the kernel's, then the lines
shim-review expects of a UKI, unless a component is already listed:
  systemd-stub,1,The systemd Developers,systemd,<stub major>,https://systemd.io/
  systemd-stub.<ID>,1,<NAME>,systemd,<stub version>,<URL>
  uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/
  uki.<ID>,1,<NAME>,uki,1,<URL>
for --sbat-vendor ID,NAME,URL (default: nixos,NixOS,https://nixos.org/),
then the --sbat entries. An entry for a component listed before replaces
it in place, so --sbat 'systemd,2,...' raises the stub's generation (shim
revokes an image if any entry of a component is below its level);
lowering one is refused.`

// closureHelp documents --closure-manifest in build's and measure's help.
const closureHelp = `
With --closure-manifest PATH (a manifest from "nix-closure-verify manifest",
checked when read; a malformed one is refused with exit status 2) the
image carries the closure manifest and its digest, both authenticated by
the Secure Boot signature and measured into PCR 11:
  - an uncompressed newc cpio holding the directories etc and
    etc/nix-closure-verify and the files etc/nix-closure-verify/manifest
    and etc/nix-closure-verify/settings (mode 0444; the settings are the
    nix-closure-verify.* words of --cmdline and the digest, and decide what
    the boot check does) is appended to .initrd after the --initrd files
    (the kernel unpacks concatenated archives in order);
  - " nix-closure-verify.digest=sha256:<hex of SHA-256 of PATH>" is appended
    to .cmdline (trailing white space of --cmdline is dropped first; without
    --cmdline the parameter alone is the command line).
"nix-closure-verify boot" in the initrd compares the two.`

// inputs maps the options to ukibuild's inputs: it finds the stub,
// resolves TEXT arguments (@PATH) and splits --section NAME:TEXT. Every
// rule about what goes where lives in pkg/ukibuild.
func (s *sectionFlags) inputs() (ukibuild.Inputs, error) {
	var in ukibuild.Inputs
	if s.linux == "" {
		return in, cli.Usagef("--linux is required")
	}
	stubPath := s.stub
	if stubPath == "" {
		p, err := uki.FindStub()
		if err != nil {
			return in, cli.Usage(err)
		}
		stubPath = p
	}
	stub, err := os.ReadFile(stubPath)
	if err != nil {
		return in, cli.Usage(err)
	}
	in.Stub, in.Linux, in.Initrds, in.ClosureManifest = stub, s.linux, s.initrds, s.closureMan
	for _, t := range []struct {
		flag, v string
		dst     *[]byte
	}{
		{"cmdline", s.cmdline, &in.Cmdline},
		{"os-release", s.osrel, &in.OSRelease},
		{"uname", s.uname, &in.Uname},
	} {
		if t.v == "" {
			continue
		}
		if *t.dst, err = textArg(t.flag, t.v); err != nil {
			return in, err
		}
	}
	// ukify takes these as paths; a leading @ is accepted too.
	in.Splash = strings.TrimPrefix(s.splash, "@")
	in.DeviceTree = strings.TrimPrefix(s.dtb, "@")
	in.Microcode = strings.TrimPrefix(s.ucode, "@")
	in.PCRPKey = strings.TrimPrefix(s.pcrpkey, "@")
	for _, e := range s.extra {
		name, text, ok := strings.Cut(e, ":")
		if !ok || name == "" {
			return in, cli.Usagef("--section %q: want NAME:TEXT", e)
		}
		b, err := textArg("section", text)
		if err != nil {
			return in, err
		}
		in.Sections = append(in.Sections, uki.NewSection(name, b))
	}
	if s.profile != "" {
		if in.Profile, err = textArg("profile", s.profile); err != nil {
			return in, err
		}
	}
	for _, path := range s.joinProfiles {
		p, err := ukibuild.ReadProfilePE(path)
		if err != nil {
			return in, cli.Usagef("--join-profile: %w", err)
		}
		in.Profiles = append(in.Profiles, p)
	}
	if s.sbatVendor != "" {
		if in.SBATVendor, err = sbat.ParseVendor(s.sbatVendor); err != nil {
			return in, cli.Usagef("--sbat-vendor: %w", err)
		}
	}
	for _, e := range s.sbats {
		b, err := textArg("sbat", e)
		if err != nil {
			return in, err
		}
		name := "--sbat"
		if p, ok := strings.CutPrefix(e, "@"); ok {
			name = p
		}
		in.SBAT = append(in.SBAT, sbat.Source{Name: name, Text: b})
	}
	return in, nil
}

// profileInputs maps the options of a profile PE (--profile without
// --linux): the stub, and the profile with the sections it replaces. Any
// other option is refused rather than silently left out.
func (s *sectionFlags) profileInputs() ([]byte, ukibuild.Profile, error) {
	var p ukibuild.Profile
	if s.splash != "" || s.dtb != "" || s.ucode != "" || s.pcrpkey != "" || s.closureMan != "" ||
		len(s.sbats) > 0 || s.sbatVendor != "" || len(s.extra) > 0 || len(s.joinProfiles) > 0 {
		return nil, p, cli.Usagef("a profile PE (--profile without --linux) takes only --cmdline, --os-release, --uname and --initrd")
	}
	stubPath := s.stub
	if stubPath == "" {
		sp, err := uki.FindStub()
		if err != nil {
			return nil, p, cli.Usage(err)
		}
		stubPath = sp
	}
	stub, err := os.ReadFile(stubPath)
	if err != nil {
		return nil, p, cli.Usage(err)
	}
	if p.Profile, err = textArg("profile", s.profile); err != nil {
		return nil, p, err
	}
	if s.cmdline != "" {
		if p.Cmdline, err = textArg("cmdline", s.cmdline); err != nil {
			return nil, p, err
		}
	}
	if s.osrel != "" {
		if p.OSRelease, err = textArg("os-release", s.osrel); err != nil {
			return nil, p, err
		}
	}
	if s.uname != "" {
		b, err := textArg("uname", s.uname)
		if err != nil {
			return nil, p, err
		}
		p.Sections = append(p.Sections, uki.NewSection(uki.SectionUname, b))
	}
	if len(s.initrds) > 0 {
		sec, err := uki.FileSection(uki.SectionInitrd, s.initrds...)
		if err != nil {
			return nil, p, cli.Usage(err)
		}
		p.Sections = append(p.Sections, sec)
	}
	return stub, p, nil
}

// composeError gives an error from ukibuild exit status 2 (all of them are
// about the inputs), naming the option when it is about one.
func composeError(err error) error {
	if err == nil {
		return nil
	}
	if ie, ok := err.(*ukibuild.InputError); ok {
		return cli.Usagef("--%w", ie)
	}
	return inputError(err)
}
