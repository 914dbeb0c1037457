package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

func runInspect(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "inspect", "[--json] IMAGE",
		`Show an image's sections (name, size, address, SHA-256 of what the stub
measures), os-release, command line, kernel release, SBAT, signatures, the
stub's version, and whether systemd-stub would boot it as a UKI.`)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.Usagef("inspect: want exactly one IMAGE")
	}
	f, fh, err := openImage(fs.Arg(0))
	if err != nil {
		return err
	}
	defer fh.Close()
	info, err := uki.Inspect(f)
	if err != nil {
		return cli.Usage(err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	printInfo(env.Stdout, info)
	return nil
}

func printInfo(w io.Writer, info *uki.Info) {
	fmt.Fprintf(w, "Sections:\n  %-8s %10s %10s %10s  %s\n", "NAME", "SIZE", "ADDRESS", "OFFSET", "SHA256")
	for _, s := range info.Sections {
		fmt.Fprintf(w, "  %-8s %10d %#10x %#10x  %s\n", s.Name, s.Size, s.VirtualAddress, s.FileOffset, s.SHA256)
	}
	field := func(name, v string) {
		if v == "" {
			return
		}
		v = strings.TrimRight(v, "\n")
		if strings.Contains(v, "\n") {
			fmt.Fprintf(w, "%s:\n  %s\n", name, strings.ReplaceAll(v, "\n", "\n  "))
		} else {
			fmt.Fprintf(w, "%s: %s\n", name, v)
		}
	}
	field("Stub", info.StubVersion)
	field("Uname", info.Uname)
	field("Cmdline", info.Cmdline)
	field("OS release", info.OSRelease)
	field("SBAT", info.SBAT)
	if len(info.Signatures) == 0 {
		fmt.Fprintln(w, "Signatures: none")
	}
	for i, s := range info.Signatures {
		match := "matches this image"
		if !s.DigestMatches {
			match = "does NOT match this image"
		}
		fmt.Fprintf(w, "Signature %d: subject %q, issuer %q, %s, digest %s\n", i+1, s.Subject, s.Issuer, s.DigestAlgorithm, match)
	}
	if info.UKI {
		fmt.Fprintln(w, "UKI: yes, systemd-stub would boot it")
	} else {
		fmt.Fprintln(w, "UKI: no")
	}
	for _, p := range info.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
}
