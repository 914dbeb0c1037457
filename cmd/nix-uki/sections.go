package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// sectionFlags are the options that choose an image's contents. build and
// measure share them, so that measure given build's options predicts
// exactly the image build writes.
type sectionFlags struct {
	stub, linux, cmdline, osrel, uname      string
	splash, dtb, ucode, pcrpkey, closureMan string
	initrds, sbats, extra                   []string
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
	fs.StringArrayVar(&s.sbats, "sbat", nil, "SBAT `TEXT` to merge; repeatable (default: ukify's uki line)")
	fs.StringVar(&s.pcrpkey, "pcrpkey", "", "PCR signing public key `PATH` (.pcrpkey; default with one --pcr-private-key: its public key)")
	fs.StringArrayVar(&s.extra, "section", nil, "extra section `NAME:TEXT`; repeatable")
	fs.StringVar(&s.closureMan, "closure-manifest", "", "closure manifest `PATH` to embed in .initrd, its digest on .cmdline (see above)")
}

// closureHelp documents --closure-manifest in build's and measure's help.
const closureHelp = `
With --closure-manifest FILE (a manifest from "nix-closure-verify manifest",
checked when read; a malformed one is refused with exit status 2) the
image carries the closure manifest and its digest, both authenticated by
the Secure Boot signature and measured into PCR 11:
  - an uncompressed newc cpio holding the directories etc and
    etc/nix-closure-verify and the files etc/nix-closure-verify/manifest
    and etc/nix-closure-verify/settings (mode 0444; the settings are the
    nix-closure-verify.* words of --cmdline and the digest, and decide what
    the boot check does) is appended to .initrd after the --initrd files
    (the kernel unpacks concatenated archives in order);
  - " nix-closure-verify.digest=sha256:<hex of SHA-256 of FILE>" is appended
    to .cmdline (trailing white space of --cmdline is dropped first; without
    --cmdline the parameter alone is the command line).
"nix-closure-verify boot" in the initrd compares the two.`

// spec resolves the options into a uki.Spec; pcrpkey, when not nil and no
// --pcrpkey was given, is added as .pcrpkey.
func (s *sectionFlags) spec(pcrpkey []byte) (*uki.Spec, error) {
	if s.linux == "" {
		return nil, cli.Usagef("--linux is required")
	}
	stubPath := s.stub
	if stubPath == "" {
		p, err := uki.FindStub()
		if err != nil {
			return nil, cli.Usage(err)
		}
		stubPath = p
	}
	stubData, err := os.ReadFile(stubPath)
	if err != nil {
		return nil, cli.Usage(err)
	}

	opts := uki.Options{Stub: stubData, Linux: s.linux, Initrds: s.initrds}
	cmdline := []byte(nil)
	if s.cmdline != "" {
		if cmdline, err = textArg("cmdline", s.cmdline); err != nil {
			return nil, err
		}
	}
	if s.closureMan != "" {
		cpio, param, err := closureManifest(s.closureMan, string(cmdline))
		if err != nil {
			return nil, err
		}
		line, err := kcmdline.Append(string(cmdline), param)
		if err != nil {
			return nil, cli.Usagef("--cmdline with --closure-manifest: %w", err)
		}
		opts.ExtraInitrds = append(opts.ExtraInitrds, cpio)
		cmdline = []byte(line)
	}
	addText := func(flag, name, v string) error {
		if v == "" {
			return nil
		}
		b, err := textArg(flag, v)
		if err != nil {
			return err
		}
		opts.Sections = append(opts.Sections, uki.NewSection(name, b))
		return nil
	}
	addFile := func(flag, name, path string) error {
		if path == "" {
			return nil
		}
		sec, err := uki.FileSection(name, strings.TrimPrefix(path, "@"))
		if err != nil {
			return cli.Usagef("--%s: %w", flag, err)
		}
		opts.Sections = append(opts.Sections, sec)
		return nil
	}
	uname := s.uname
	if uname == "" {
		// Like ukify, find the release in the kernel; not finding it only
		// means no .uname.
		if r, err := uki.KernelRelease(s.linux); err == nil {
			uname = r
		}
	}
	if len(cmdline) > 0 {
		opts.Sections = append(opts.Sections, uki.NewSection(uki.SectionCmdline, cmdline))
	}
	for _, step := range []error{
		addText("os-release", uki.SectionOSRel, s.osrel),
		addText("uname", uki.SectionUname, uname),
		addFile("splash", uki.SectionSplash, s.splash),
		addFile("devicetree", uki.SectionDTB, s.dtb),
		addFile("microcode", uki.SectionUcode, s.ucode),
		addFile("pcrpkey", uki.SectionPCRPKey, s.pcrpkey),
	} {
		if step != nil {
			return nil, step
		}
	}
	if s.pcrpkey == "" && len(pcrpkey) > 0 {
		opts.Sections = append(opts.Sections, uki.NewSection(uki.SectionPCRPKey, pcrpkey))
	}
	for _, e := range s.extra {
		name, text, ok := strings.Cut(e, ":")
		if !ok || name == "" {
			return nil, cli.Usagef("--section %q: want NAME:TEXT", e)
		}
		if err := addText("section", name, text); err != nil {
			return nil, err
		}
	}
	for _, e := range s.sbats {
		b, err := textArg("sbat", e)
		if err != nil {
			return nil, err
		}
		name := "--sbat"
		if p, ok := strings.CutPrefix(e, "@"); ok {
			name = p
		}
		opts.SBAT = append(opts.SBAT, sbat.Source{Name: name, Text: b})
	}
	spec, err := uki.NewSpec(opts)
	if err != nil {
		return nil, inputError(err)
	}
	return spec, nil
}
