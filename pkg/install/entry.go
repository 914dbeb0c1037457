package install

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/bootspec"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/generation"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// entry is one UKI to have on the ESP: a generation or one of its
// specialisations.
type entry struct {
	gen      *generation.Generation
	specName string
	spec     *bootspec.Spec
	name     string // file name under EFI/Linux
	osrel    []byte
	cmdline  string // without the closure manifest's digest

	once   sync.Once
	img    *ukibuild.UKI
	verity *verityResult // set when fs-verity was enabled over its closure
	size   int64
	err    error
}

// label names the entry in messages.
func (e *entry) label() string {
	if e.specName == "" {
		return fmt.Sprintf("generation %d", e.gen.Number)
	}
	return fmt.Sprintf("generation %d, specialisation %s", e.gen.Number, e.specName)
}

// newEntry names an entry from its recipe.
func (in *installer) newEntry(g *generation.Generation, specName string, s *bootspec.Spec) (*entry, error) {
	e := &entry{gen: g, specName: specName, spec: s}
	e.osrel = osRelease(g.Number, specName, s.Label, g.Time, in.opts.SortKey)
	e.cmdline = strings.Join(append([]string{s.Cmdline()}, in.extraParams...), " ")
	r := recipe{
		Version: recipeVersion, Stub: in.stubID, Cmdline: e.cmdline, OSRelease: string(e.osrel),
		Toplevel: s.Toplevel, Closure: in.opts.Closure, Certificate: in.certID,
	}
	if in.opts.Closure {
		r.ManifestFrom, r.FSVerity = in.opts.ManifestFrom, in.opts.FSVerity
	}
	if in.opts.PCRKey != "" {
		r.PCRKey, r.PCRBanks, r.Phases = in.pcrKeyID, in.opts.PCRBanks, in.opts.Phases
	}
	var err error
	if r.Kernel, err = in.ids.identify(s.Kernel); err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	if r.Initrd, err = in.ids.identify(s.Initrd); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	e.name = esp.EntryName(g.Number, specName, r.hash(), in.opts.Tries)
	return e, nil
}

// compose composes the entry's image once: its closure manifest is made
// and embedded the way `nix-uki build --closure-manifest` embeds one.
func (in *installer) compose(ctx context.Context, e *entry) (*ukibuild.UKI, int64, error) {
	e.once.Do(func() {
		inputs := ukibuild.Inputs{
			Stub: in.stub, Linux: e.spec.Kernel, Cmdline: []byte(e.cmdline), OSRelease: e.osrel,
			PCR: in.pcr,
		}
		if e.spec.Initrd != "" {
			inputs.Initrds = []string{e.spec.Initrd}
		}
		if in.signer != nil {
			inputs.SigningKey, inputs.Certificates = in.signer.Key, in.signer.Chain
		}
		if in.opts.Closure {
			p := filepath.Join(in.tmp, strings.TrimSuffix(e.name, ".efi")+".manifest")
			if err := in.writeManifest(ctx, e, p); err != nil {
				e.err = err
				return
			}
			inputs.ClosureManifest = p
		}
		img, err := ukibuild.Compose(inputs)
		if err != nil {
			e.err = err
			return
		}
		// An upper bound: the stub, each section padded to the file
		// alignment, and room for the signature.
		size := int64(len(in.stub)) + signatureRoom
		for _, s := range img.Sections() {
			size += (s.Size() + 4095) / 4096 * 4096
		}
		e.img, e.size = img, size
	})
	return e.img, e.size, e.err
}

// writeManifest writes the entry's closure manifest to p: version 1, or
// with fs-verity version 2 and fs-verity enabled over the closure it
// describes, so that the check at boot with fsverity=on finds every file
// frozen with the digest the manifest records.
func (in *installer) writeManifest(ctx context.Context, e *entry, p string) error {
	if !in.opts.FSVerity {
		data, err := closureManifest(ctx, e.spec.Toplevel, in.opts.ManifestFrom, in.opts.StoreDir)
		if err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o444)
	}
	digest, err := in.writeManifestV2(ctx, e, p)
	if err != nil {
		return err
	}
	return in.enableFSVerity(ctx, e, p, digest)
}

// signatureRoom bounds the certificate table a signature adds (a PKCS#7
// with the certificate chain).
const signatureRoom = 64 << 10

// want is the entry's file for one partition.
func (in *installer) want(ctx context.Context, e *entry, required bool) esp.Want {
	return esp.Want{
		Path:     esp.LinuxDir + "/" + e.name,
		Required: required,
		// The name carries the recipe's hash: a file by that name, as
		// written, is the entry's image.
		Recorded: true,
		Measure: func() (int64, error) {
			_, n, err := in.compose(ctx, e)
			return n, err
		},
		Write: func(w esp.File) error {
			img, _, err := in.compose(ctx, e)
			if err != nil {
				return err
			}
			_, err = img.WriteTo(w)
			return err
		},
		Check: func(r esp.ReadFile, size int64) error { return in.checkUKI(r, size, e) },
	}
}

// checkUKI says whether an installed file is the entry's image, intact:
// its .osrel and .cmdline are the entry's, and, when signing, its
// signature verifies with our certificate (which covers every byte the
// firmware hashes). Unsigned images are checked for their sections only.
func (in *installer) checkUKI(r esp.ReadFile, size int64, e *entry) error {
	f, err := pe.NewFile(r, size)
	if err != nil {
		return err
	}
	osrel, err := sectionData(f, uki.SectionOSRel)
	if err != nil {
		return err
	}
	if !bytes.Equal(osrel, e.osrel) {
		return errors.New(".osrel differs")
	}
	cmdline, err := sectionData(f, uki.SectionCmdline)
	if err != nil {
		return err
	}
	if c := string(cmdline); c != e.cmdline && !strings.HasPrefix(c, e.cmdline+" ") {
		return errors.New(".cmdline differs")
	}
	if in.signer == nil {
		return nil
	}
	if _, err := authenticode.VerifyImage(f, []*x509.Certificate{in.signer.Chain[0]}, authenticode.Options{}); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	return nil
}

func sectionData(f *pe.File, name string) ([]byte, error) {
	s := f.Section(name)
	if s == nil {
		return nil, fmt.Errorf("no %s section", name)
	}
	return f.SectionData(s, 1<<20)
}
