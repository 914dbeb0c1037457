package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// pcrFlags are ukify's measured-boot options. --pcr-private-key,
// --pcr-public-key and --phases are recorded in command-line order, since
// their order makes the key groups.
type pcrFlags struct {
	banks []string
	seq   []pcrArg
}

type pcrArg struct{ flag, value string }

// orderedFlag appends each use of one flag to the shared sequence.
type orderedFlag struct {
	name string
	seq  *[]pcrArg
}

func (o orderedFlag) String() string { return "" }
func (o orderedFlag) Type() string   { return "stringArray" }
func (o orderedFlag) Set(v string) error {
	*o.seq = append(*o.seq, pcrArg{o.name, v})
	return nil
}

const pcrHelp = `
Key groups, as ukify makes them: each --pcr-private-key starts a group, and
the --pcr-public-key and --phases given after it (before the next
--pcr-private-key) belong to it; each group signs its phase paths (default:
systemd-measure's four) in every bank of --pcr-banks, and the signatures of
all groups are merged into one .pcrsig. Without a key, --phases choose the
phase paths calculated. A phase path is words joined by ":" (enter-initrd,
leave-initrd, sysinit, ready, shutdown, final); ":" alone is the state right
after the stub. Keys must be RSA; a --pcr-public-key must be its private
key's. With exactly one key and no --pcrpkey, .pcrpkey is that key's public
key (PEM SubjectPublicKeyInfo).

The sections measured depend on the stub's version, read from its
.sdmagic section and checked against the stub's own list of sections:
  systemd  measured into PCR 11, in this order
  252-253  .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey
  254-255  .linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrpkey
  256      as 254, with .ucode after .initrd
  257      as 256, then .profile .dtbauto .hwids
  258-262  as 257, then .efifw
A version older than 252, a known one whose list differs, and a newer one
whose list is not 262's are refused; a newer one listing 262's sections is
measured as 262 with a warning. (.pcrsig is never measured; each section
present is measured as H(name NUL) then H(contents). From systemd 260 every
bank's policy is signed with SHA-256, before with the bank's hash.)`

func (p *pcrFlags) register(fs *pflag.FlagSet) {
	fs.Var(orderedFlag{"pcr-private-key", &p.seq}, "pcr-private-key", "RSA private `KEY` to sign PCR 11 policies with (a file, pkcs11: URI or tpm: reference); repeatable, starts a key group")
	fs.Var(orderedFlag{"pcr-public-key", &p.seq}, "pcr-public-key", "public key `PATH` of the group's --pcr-private-key (default: derived from it)")
	fs.Var(orderedFlag{"phases", &p.seq}, "phases", "phase `PATHS` (comma or space separated; default: enter-initrd, ...:leave-initrd, ...:sysinit, ...:ready)")
	fs.StringArrayVar(&p.banks, "pcr-banks", nil, "PCR `BANKS` (sha1, sha256, sha384, sha512; comma separated, repeatable; default: all)")
}

// pcrSetup is what the flags resolve to.
type pcrSetup struct {
	banks  []measure.Bank
	phases []measure.Phase // what to predict: the groups' union, or --phases
	groups []measure.KeyGroup
	keys   []signer.Signer // opened, to close
}

// Close closes the keys.
func (s *pcrSetup) Close() {
	for _, k := range s.keys {
		k.Close()
	}
	s.keys = nil
}

// load parses banks and phases and opens the keys (files, tokens, TPMs),
// printing key warnings. The caller closes the setup.
func (p *pcrFlags) load(ctx context.Context, stderr io.Writer) (*pcrSetup, error) {
	banks, err := measure.ParseBanks(p.banks...)
	if err != nil {
		return nil, cli.Usagef("--pcr-banks: %w", err)
	}
	s := &pcrSetup{banks: banks}
	type group struct {
		priv, pub string
		phases    []string
	}
	var gs []*group
	var loose []string // --phases without a key
	for _, a := range p.seq {
		var g *group
		if len(gs) > 0 {
			g = gs[len(gs)-1]
		}
		switch a.flag {
		case "pcr-private-key":
			gs = append(gs, &group{priv: a.value})
		case "pcr-public-key":
			if g == nil {
				return nil, cli.Usagef("--pcr-public-key %s comes before any --pcr-private-key", a.value)
			}
			if g.pub != "" {
				return nil, cli.Usagef("--pcr-public-key given twice for --pcr-private-key %s", g.priv)
			}
			g.pub = a.value
		case "phases":
			if g == nil {
				loose = append(loose, a.value)
				continue
			}
			g.phases = append(g.phases, a.value)
		}
	}
	if len(gs) > 0 && len(loose) > 0 {
		return nil, cli.Usagef("--phases %s comes before any --pcr-private-key (phases belong to the key given before them)", strings.Join(loose, " "))
	}
	for _, g := range gs {
		key, pub, err := signer.OpenPCR(ctx, g.priv, g.pub, signer.Options{})
		if err != nil {
			s.Close()
			return nil, keyError(err)
		}
		printWarnings(stderr, key)
		s.keys = append(s.keys, key)
		phases, err := measure.ParsePhases(g.phases...)
		if err != nil {
			s.Close()
			return nil, cli.Usagef("--phases: %w", err)
		}
		s.groups = append(s.groups, measure.KeyGroup{Key: key, Public: pub, Phases: phases})
	}
	if len(s.groups) > 0 {
		s.phases = measure.GroupPhases(s.groups)
	} else if s.phases, err = measure.ParsePhases(loose...); err != nil {
		s.Close()
		return nil, cli.Usagef("--phases: %w", err)
	}
	return s, nil
}

// pcr gives the setup to ukibuild; predict asks for the prediction even
// without keys.
func (s *pcrSetup) pcr(predict bool) ukibuild.PCR {
	return ukibuild.PCR{Predict: predict, Banks: s.banks, Phases: s.phases, Groups: s.groups}
}
