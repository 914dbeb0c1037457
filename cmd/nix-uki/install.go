package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/install"
)

const installHelp = `Install every bootable NixOS generation onto the EFI system partition as a
signed Unified Kernel Image behind a signed systemd-boot: the boot loader
installer NixOS runs at each "nixos-rebuild switch" (boot.loader.external).
TOPLEVEL, the system NixOS passes, becomes the default entry (default: the
newest generation). Generations are the profile's system-N-link; each
generation and specialisation among the newest --configuration-limit gets
EFI/Linux/nixos-generation-N[-specialisation-NAME]-HASH.efi carrying its
closure manifest. Files already there and intact are kept; what this tool
wrote before and no longer wants is removed, never the booted system's
entry. Every setting can come from --config FILE (JSON, as the NixOS module
writes it); a flag wins over the file.

Exit status: 0 installed (generations that did not fit or could not be read
are listed); 1 the install failed (not enough space for the default entry:
nothing was changed; a write failed: the ESP still boots); 2 bad settings,
keys, generations or partitions, or --closure-fsverity on a store whose
filesystem lacks fs-verity or is read-only (nothing was changed).`

func runInstall(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "install", "[options] [TOPLEVEL]", installHelp)
	var f installFlags
	f.register(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return cli.Usagef("install: unexpected argument %q", fs.Arg(1))
	}
	opts, err := f.options(fs)
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		opts.Toplevel = fs.Arg(0)
	}
	rep, runErr := install.Run(ctx, opts)
	if rep != nil && (runErr == nil || len(rep.Files) > 0) {
		var err error
		if f.json {
			err = rep.WriteJSON(env.Stdout)
		} else {
			err = rep.WriteText(env.Stdout)
		}
		if err != nil && runErr == nil {
			return err
		}
	} else if rep != nil {
		for _, w := range rep.Warnings {
			fmt.Fprintf(env.Stderr, "%s: warning: %s\n", toolName, w)
		}
	}
	switch {
	case runErr == nil:
		return nil
	case errors.Is(runErr, install.ErrFailed):
		return cli.Failed(runErr)
	default:
		return cli.Usage(runErr)
	}
}

// installFlags are install's options; each maps to a Config field.
type installFlags struct {
	config                              string
	esps, loader, params, banks, phases []string
	xbootldr, profiles, stub, sdboot    string
	sbKey, sbCert, sortKey, onFailure   string
	manifestFrom, pcrKey, pcrPub        string
	booted                              string
	allowUnsigned, closureCheck         bool
	closureFSVerity                     bool
	limit, tries, jobs                  int
	force, allowNonVFAT, json           bool
}

func (f *installFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "read settings from the JSON `FILE` the NixOS module writes (flags win)")
	fs.StringArrayVar(&f.esps, "esp", nil, "EFI system partition mount point `DIR`; repeatable (config: esps)")
	fs.StringVar(&f.xbootldr, "xbootldr", "", "put the UKIs on this XBOOTLDR partition `DIR` instead (config: xbootldr)")
	fs.StringVar(&f.profiles, "profiles", "", "directory `DIR` of the system-N-link generations (default /nix/var/nix/profiles; config: profiles)")
	fs.StringVar(&f.stub, "stub", "", "systemd-stub `FILE` the UKIs are built on (config: stub)")
	fs.StringVar(&f.sdboot, "systemd-boot", "", "systemd-boot `FILE` to install, signed (config: systemdBoot)")
	fs.StringVar(&f.sbKey, "secureboot-private-key", "", "Secure Boot signing key `PATH` (config: secureBoot.privateKey)")
	fs.StringVar(&f.sbCert, "secureboot-certificate", "", "its certificate `PATH` (PEM; config: secureBoot.certificate)")
	fs.BoolVar(&f.allowUnsigned, "allow-unsigned", false, "install unsigned images when no key is given (config: secureBoot.allowUnsigned)")
	fs.IntVar(&f.limit, "configuration-limit", 0, "install the newest `N` generations; 0 for all (config: configurationLimit)")
	fs.StringArrayVar(&f.loader, "loader", nil, "loader.conf `KEY=VALUE`; repeatable (config: loader)")
	fs.StringVar(&f.sortKey, "sort-key", "", "`SORT_KEY` in each UKI's os-release (default nixos; config: sortKey)")
	fs.IntVar(&f.tries, "boot-counting", 0, "give new entries `N` boot tries; 0 for off (config: bootCounting.tries)")
	fs.BoolVar(&f.closureCheck, "closure-check", true, "embed each generation's closure manifest (config: closureCheck.enable)")
	fs.StringVar(&f.onFailure, "closure-on-failure", "", "what the store check at boot does on a mismatch: `ACTION` halt, warn, shell or fail (config: closureCheck.onFailure)")
	fs.IntVar(&f.jobs, "closure-jobs", 0, "hashing jobs `N` at boot; 0 for one per CPU (config: closureCheck.jobs)")
	fs.BoolVar(&f.closureFSVerity, "closure-fsverity", false, "version 2 manifests, fs-verity enabled on each new generation's store paths, checked by fs-verity digest at boot (config: closureCheck.fsverity)")
	fs.StringVar(&f.manifestFrom, "manifest-from", "", "`SOURCE` of the manifests: db (Nix's database) or hash (hash the store) (config: closureCheck.manifestFrom)")
	fs.StringVar(&f.pcrKey, "pcr-private-key", "", "sign PCR 11 policies (.pcrsig) with this RSA key `PATH` (config: measuredBoot.pcrPrivateKey)")
	fs.StringVar(&f.pcrPub, "pcr-public-key", "", "its public key `PATH` (config: measuredBoot.pcrPublicKey)")
	fs.StringArrayVar(&f.banks, "pcr-banks", nil, "PCR `BANKS` to sign for (default sha256; config: measuredBoot.banks)")
	fs.StringArrayVar(&f.phases, "phases", nil, "phase `PATHS` to sign for (default enter-initrd; config: measuredBoot.phases)")
	fs.StringArrayVar(&f.params, "kernel-param", nil, "kernel parameter `PARAM` appended after the bootspec's; repeatable (config: extraKernelParams)")
	fs.StringVar(&f.booted, "booted-system", install.DefaultBootedSystem, "the running system's `LINK`, whose entry is never removed")
	fs.BoolVar(&f.force, "force-loader-conf", false, "replace a loader/loader.conf another tool wrote")
	fs.BoolVar(&f.allowNonVFAT, "allow-non-vfat", false, "accept partitions that are not FAT (image builds, tests)")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
}

// options reads --config and lays the flags that were given over it.
func (f *installFlags) options(fs *pflag.FlagSet) (install.Options, error) {
	base := &install.Config{Version: install.ConfigVersion}
	if f.config != "" {
		c, err := install.Load(f.config)
		if err != nil {
			return install.Options{}, cli.Usagef("--config: %w", err)
		}
		base = c
	}
	over := &install.Config{ESPs: f.esps}
	str := func(name string, v string) *string {
		if fs.Changed(name) {
			return &v
		}
		return nil
	}
	num := func(name string, v int) *int {
		if fs.Changed(name) {
			return &v
		}
		return nil
	}
	over.XBOOTLDR = str("xbootldr", f.xbootldr)
	over.Profiles = str("profiles", f.profiles)
	over.Stub = str("stub", f.stub)
	over.SystemdBoot = str("systemd-boot", f.sdboot)
	over.SortKey = str("sort-key", f.sortKey)
	over.ConfigurationLimit = num("configuration-limit", f.limit)
	if fs.Changed("secureboot-private-key") || fs.Changed("secureboot-certificate") || fs.Changed("allow-unsigned") {
		over.SecureBoot = &install.SecureBootConfig{PrivateKey: str("secureboot-private-key", f.sbKey), Certificate: str("secureboot-certificate", f.sbCert)}
		if fs.Changed("allow-unsigned") {
			over.SecureBoot.AllowUnsigned = &f.allowUnsigned
		}
	}
	if fs.Changed("boot-counting") {
		over.BootCounting = &install.BootCountingConfig{Tries: &f.tries}
	}
	if fs.Changed("closure-check") || fs.Changed("closure-on-failure") || fs.Changed("closure-jobs") || fs.Changed("manifest-from") || fs.Changed("closure-fsverity") {
		over.ClosureCheck = &install.ClosureCheckConfig{OnFailure: str("closure-on-failure", f.onFailure), Jobs: num("closure-jobs", f.jobs), ManifestFrom: str("manifest-from", f.manifestFrom)}
		if fs.Changed("closure-check") {
			over.ClosureCheck.Enable = &f.closureCheck
		}
		if fs.Changed("closure-fsverity") {
			over.ClosureCheck.FSVerity = &f.closureFSVerity
		}
	}
	if fs.Changed("pcr-private-key") || fs.Changed("pcr-public-key") || fs.Changed("pcr-banks") || fs.Changed("phases") {
		over.MeasuredBoot = &install.MeasuredBootConfig{PCRPrivateKey: str("pcr-private-key", f.pcrKey), PCRPublicKey: str("pcr-public-key", f.pcrPub), Banks: splitList(f.banks), Phases: splitList(f.phases)}
	}
	if len(f.loader) > 0 {
		over.Loader = map[string]string{}
		for _, kv := range f.loader {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return install.Options{}, cli.Usagef("--loader %q: want KEY=VALUE", kv)
			}
			over.Loader[k] = v
		}
	}
	if fs.Changed("kernel-param") {
		over.ExtraKernelParams = f.params
	}
	opts, err := install.Merge(base, over).Options()
	if err != nil {
		return opts, cli.Usage(err)
	}
	opts.BootedSystem = f.booted
	opts.ForceLoaderConf = f.force
	opts.RequireVFAT = !f.allowNonVFAT
	opts.TempDir = os.Getenv("TMPDIR")
	return opts, nil
}

// splitList splits comma or space separated values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	return out
}
