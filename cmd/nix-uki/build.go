package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

func runBuild(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "build", "--linux KERNEL [options] --output UKI",
		`Assemble a Unified Kernel Image: the systemd-stub with the kernel, initrds,
command line, os-release and other payloads appended as sections, in the
stub's canonical order, with the stub's, kernel's and given SBAT merged into
one .sbat. Option names are ukify's. Any TEXT may be given as @FILE.
With --secureboot-private-key and --secureboot-certificate the image is
signed (Authenticode, SHA-256) in the same pass. The same inputs always give
the same bytes.`)
	stub := fs.String("stub", "", "systemd-stub `PATH` (default: the first of "+strings.Join(uki.DefaultStubPaths, ", ")+")")
	linux := fs.String("linux", "", "kernel image `PATH` (.linux, required)")
	initrds := fs.StringArray("initrd", nil, "initrd `PATH`; repeatable, concatenated in order (.initrd)")
	cmdline := fs.String("cmdline", "", "kernel command line `TEXT` (.cmdline)")
	osrel := fs.String("os-release", "", "os-release `TEXT` (.osrel)")
	uname := fs.String("uname", "", "kernel release `TEXT` (.uname; default: read from an x86 kernel's header)")
	splash := fs.String("splash", "", "boot splash BMP `PATH` (.splash)")
	dtb := fs.String("devicetree", "", "device tree `PATH` (.dtb)")
	ucode := fs.String("microcode", "", "microcode initrd `PATH` (.ucode)")
	sbats := fs.StringArray("sbat", nil, "SBAT `TEXT` to merge; repeatable (default: ukify's uki line)")
	pcrpkey := fs.String("pcrpkey", "", "PCR signing public key `PATH` (.pcrpkey)")
	extra := fs.StringArray("section", nil, "extra section `NAME:TEXT`; repeatable")
	sbKey := fs.String("secureboot-private-key", "", "sign with this private key `PATH`")
	sbCert := fs.String("secureboot-certificate", "", "signing certificate `PATH` (PEM; more certificates after it are embedded)")
	output := fs.String("output", "", "write the UKI to `PATH`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("build: unexpected argument %q", fs.Arg(0))
	}
	if *linux == "" {
		return cli.Usagef("build: --linux is required")
	}
	if *output == "" {
		return cli.Usagef("build: --output is required")
	}
	if (*sbKey == "") != (*sbCert == "") {
		return cli.Usagef("build: --secureboot-private-key and --secureboot-certificate go together")
	}

	stubPath := *stub
	if stubPath == "" {
		p, err := uki.FindStub()
		if err != nil {
			return cli.Usage(err)
		}
		stubPath = p
	}
	stubData, err := os.ReadFile(stubPath)
	if err != nil {
		return cli.Usage(err)
	}

	opts := uki.Options{Stub: stubData, Linux: *linux, Initrds: *initrds}
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
		s, err := uki.FileSection(name, strings.TrimPrefix(path, "@"))
		if err != nil {
			return cli.Usagef("--%s: %w", flag, err)
		}
		opts.Sections = append(opts.Sections, s)
		return nil
	}
	if *uname == "" {
		// Like ukify, find the release in the kernel; not finding it only
		// means no .uname.
		if r, err := uki.KernelRelease(*linux); err == nil {
			*uname = r
		}
	}
	for _, step := range []error{
		addText("os-release", uki.SectionOSRel, *osrel),
		addText("cmdline", uki.SectionCmdline, *cmdline),
		addText("uname", uki.SectionUname, *uname),
		addFile("splash", uki.SectionSplash, *splash),
		addFile("devicetree", uki.SectionDTB, *dtb),
		addFile("microcode", uki.SectionUcode, *ucode),
		addFile("pcrpkey", uki.SectionPCRPKey, *pcrpkey),
	} {
		if step != nil {
			return step
		}
	}
	for _, s := range *extra {
		name, text, ok := strings.Cut(s, ":")
		if !ok || name == "" {
			return cli.Usagef("--section %q: want NAME:TEXT", s)
		}
		if err := addText("section", name, text); err != nil {
			return err
		}
	}
	for _, s := range *sbats {
		b, err := textArg("sbat", s)
		if err != nil {
			return err
		}
		name := "--sbat"
		if p, ok := strings.CutPrefix(s, "@"); ok {
			name = p
		}
		opts.SBAT = append(opts.SBAT, sbat.Source{Name: name, Text: b})
	}

	var signer *authenticode.Signer
	if *sbKey != "" {
		if signer, err = loadSigner(env.Stderr, *sbKey, *sbCert); err != nil {
			return err
		}
	}
	spec, err := uki.NewSpec(opts)
	if err != nil {
		return inputError(err)
	}
	err = writeOutput(*output, func(out authenticode.Output) error {
		_, err := spec.Write(out, signer)
		return err
	})
	if err != nil {
		return inputError(fmt.Errorf("building %s: %w", *output, err))
	}
	return nil
}
