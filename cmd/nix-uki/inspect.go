package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

func runInspect(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "inspect", "[--json] IMAGE",
		`Show an image's sections (name, size, address, SHA-256 of what the stub
measures), os-release, command line, kernel release, SBAT, signatures, the
stub's version, and whether systemd-stub would boot it as a UKI.

Then the PCR 11 values the image's stub will produce (the rules of the
stub's version, read from .sdmagic and checked against the stub's own table
of sections, as in "nix-uki measure --help"), right
after the stub (phase ":", what an initrd without systemd sees) and after
systemd-measure's phase paths, and for a .pcrsig: per bank, how many
entries were made by the image's .pcrpkey, how many signatures verify, and
which predicted states they sign. A .pcrsig that is not systemd's JSON is
an input error (exit status 2). A multi-profile UKI (systemd-stub 257 and
later) lists its profiles, and PCR 11 and .pcrsig are shown per profile.`)
	asJSON := fs.Bool("json", false, "print JSON")
	bankArgs := fs.StringArray("pcr-banks", nil, "PCR `BANKS` to predict (default: sha256)")
	phaseArgs := fs.StringArray("phases", nil, "phase `PATHS` to predict (default: \":\" and systemd-measure's four)")
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
	banks := []measure.Bank{measure.SHA256}
	if len(*bankArgs) > 0 {
		if banks, err = measure.ParseBanks(*bankArgs...); err != nil {
			return cli.Usagef("--pcr-banks: %w", err)
		}
	}
	phases := inspectPhases()
	if len(*phaseArgs) > 0 {
		if phases, err = measure.ParsePhases(*phaseArgs...); err != nil {
			return cli.Usagef("--phases: %w", err)
		}
	}
	info, err := uki.Inspect(f)
	if err != nil {
		return cli.Usage(err)
	}
	pi, err := inspectPCR(f, banks, phases)
	if err != nil {
		return pcrsigError(fs.Arg(0), err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*uki.Info
			PCR11 *pcrInfo `json:"pcr11"`
		}{info, pi})
	}
	printInfo(env.Stdout, info)
	printPCR(env.Stdout, pi)
	return nil
}

func printInfo(w io.Writer, info *uki.Info) {
	fmt.Fprintf(w, "Sections:\n  %-8s %10s %10s %10s  %s\n", "NAME", "SIZE", "ADDRESS", "OFFSET", "SHA256")
	for _, s := range info.Sections {
		digest := s.SHA256
		if digest == "" {
			digest = "-" // not hashed: see the problems
		}
		fmt.Fprintf(w, "  %-8s %10d %#10x %#10x  %s\n", s.Name, s.Size, s.VirtualAddress, s.FileOffset, digest)
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
	if len(info.StubSections) > 0 {
		field("Stub knows", strings.Join(info.StubSections, " "))
	}
	for _, p := range info.Profiles {
		fmt.Fprintf(w, "Profile %d: %s (replaces: %s)\n", p.Index, strings.ReplaceAll(strings.TrimSpace(p.Profile), "\n", " "), strings.Join(p.Sections, " "))
	}
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
