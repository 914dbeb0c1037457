package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/bootspec"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/generation"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
	"github.com/nix-boot-security/nix-boot-security/pkg/ukibuild"
)

// Errors callers branch on (the command maps them to exit statuses).
var (
	// ErrNoGeneration: no generation could be read, or the default could
	// not (its bootspec is missing or malformed, its link dangles).
	ErrNoGeneration = errors.New("no installable generation")
	// ErrPartition: an ESP or XBOOTLDR is missing, not mounted, read-only,
	// or holds a loader.conf another tool wrote.
	ErrPartition = errors.New("boot partition")
	// ErrFailed: the install itself failed (no space for the default, a
	// write failed); the partitions hold what they held before, or the
	// new files alongside a loader.conf naming a complete entry.
	ErrFailed = errors.New("install failed")
)

// installer is one run's state.
type installer struct {
	opts        Options
	signer      *authenticode.Signer
	stub        []byte
	stubID      string
	certID      string
	pcrKeyID    string
	pcr         ukibuild.PCR
	extraParams []string
	ids         identities
	tmp         string
	warnings    []string
	keys        []signer.Signer // opened keys, closed when Run returns

	mu    sync.Mutex
	fatal error // stops the install before anything is written (fs-verity unsupported)
}

// Run installs the generations onto the ESPs as opts say and reports what
// it did. The report is returned with an error too, as far as it got.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.StoreDir == "" {
		opts.StoreDir = closure.DefaultStoreDir
	}
	in := &installer{opts: opts, extraParams: opts.ExtraParams, ids: identities{storeDir: opts.StoreDir, seen: map[string]string{}}}
	defer in.closeKeys()
	rep := &Report{}
	if err := in.load(ctx); err != nil {
		return rep, err
	}
	rep.Warnings = in.warnings
	tmp, err := os.MkdirTemp(opts.TempDir, "nix-uki-install-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	in.tmp = tmp
	err = in.run(ctx, rep)
	rep.Warnings = in.warnings
	return rep, err
}

// load opens the keys and reads the stub: everything that must be right
// before anything is planned.
func (in *installer) load(ctx context.Context) error {
	o := in.opts
	if o.SigningKey != "" {
		s, key, err := openSigner(ctx, o.SigningKey, o.Certificate)
		if err != nil {
			return err
		}
		in.keys = append(in.keys, key)
		in.signer = s
		in.warnings = append(in.warnings, key.Warnings()...)
		in.certID = fingerprint(s.Chain[0].Raw)
	}
	stub, err := os.ReadFile(o.Stub)
	if err != nil {
		return fmt.Errorf("%w: stub: %w", ErrOptions, err)
	}
	in.stub = stub
	in.stubID = fingerprint(stub)
	if o.PCRKey != "" {
		key, pub, err := openPCRKey(ctx, o.PCRKey, o.PCRPublicKey)
		if err != nil {
			return err
		}
		in.keys = append(in.keys, key)
		in.warnings = append(in.warnings, key.Warnings()...)
		banks, err := measure.ParseBanks(o.PCRBanks...)
		if err != nil {
			return fmt.Errorf("%w: PCR banks: %w", ErrOptions, err)
		}
		phases, err := measure.ParsePhases(o.Phases...)
		if err != nil {
			return fmt.Errorf("%w: phases: %w", ErrOptions, err)
		}
		pem, err := measure.PublicKeyPEM(key.Public())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrKey, err)
		}
		in.pcrKeyID = fingerprint(pem)
		in.pcr = ukibuild.PCR{Banks: banks, Groups: []measure.KeyGroup{{Key: key, Public: pub, Phases: phases}}}
	}
	if o.Closure {
		in.extraParams = append(append([]string(nil), o.ExtraParams...), "nix-closure-verify.on-failure="+o.OnFailure)
		if o.Jobs > 0 {
			in.extraParams = append(in.extraParams, fmt.Sprintf("nix-closure-verify.jobs=%d", o.Jobs))
		}
		if o.FSVerity {
			// Into the signed settings by the same path as any of our
			// parameters (bootcheck.InitrdArchive).
			in.extraParams = append(in.extraParams, "nix-closure-verify.fsverity=on")
		}
	}
	return nil
}

func (in *installer) closeKeys() {
	for _, k := range in.keys {
		k.Close()
	}
}

func fingerprint(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// partition is one ESP or the XBOOTLDR.
type partition struct {
	dir  string
	fs   esp.FS
	esp  bool // gets systemd-boot and loader.conf
	ukis bool // gets the UKIs
	plan *esp.Prepared
}

func (in *installer) run(ctx context.Context, rep *Report) error {
	o := in.opts
	gens, err := generation.List(o.Profiles)
	if err != nil {
		return fmt.Errorf("%w: profiles: %w", ErrNoGeneration, err)
	}
	var good []*generation.Generation
	for i := range gens {
		g := &gens[i]
		if g.Err != nil {
			rep.Skipped = append(rep.Skipped, Skipped{Generation: g.Number, Error: g.Err.Error()})
			continue
		}
		good = append(good, g)
	}
	if len(good) == 0 {
		return fmt.Errorf("%w: none in %s", ErrNoGeneration, o.Profiles)
	}
	// The default: the toplevel given, or the newest generation.
	def := good[len(good)-1]
	if o.Toplevel != "" {
		def = nil
		top, err := filepath.EvalSymlinks(o.Toplevel)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoGeneration, err)
		}
		for _, g := range gens {
			if g.Toplevel == top {
				if g.Err != nil {
					return fmt.Errorf("%w: the new system is generation %d: %w", ErrNoGeneration, g.Number, g.Err)
				}
				def = &g
			}
		}
		if def == nil {
			return fmt.Errorf("%w: %s is not a generation in %s", ErrNoGeneration, o.Toplevel, o.Profiles)
		}
		for _, g := range good {
			if g.Number == def.Number {
				def = g
			}
		}
	}
	booted := -1
	if top, err := filepath.EvalSymlinks(o.BootedSystem); err == nil {
		for _, g := range good {
			if g.Toplevel == top {
				booted = g.Number
			}
		}
	}
	// The newest generations within the limit, plus the default and the
	// booted one, newest first.
	sort.Slice(good, func(i, j int) bool { return good[i].Number > good[j].Number })
	var chosen []*generation.Generation
	for i, g := range good {
		if o.Limit == 0 || i < o.Limit || g.Number == def.Number || g.Number == booted {
			chosen = append(chosen, g)
		}
	}
	byToplevel := map[string]int{}
	var entries []*entry
	var defEntry *entry
	for _, g := range chosen {
		if prev, ok := byToplevel[g.Spec.Toplevel]; ok {
			in.warnings = append(in.warnings, fmt.Sprintf("generation %d is the same system as generation %d", g.Number, prev))
		} else {
			byToplevel[g.Spec.Toplevel] = g.Number
		}
		e, err := in.newEntry(g, "", &g.Spec.Spec)
		if err != nil {
			if g == def {
				return fmt.Errorf("%w: generation %d: %w", ErrNoGeneration, g.Number, err)
			}
			rep.Skipped = append(rep.Skipped, Skipped{Generation: g.Number, Error: err.Error()})
			continue
		}
		entries = append(entries, e)
		if g == def {
			defEntry = e
		}
		for _, s := range flatten(g.Spec.Specialisations, "") {
			se, err := in.newEntry(g, s.name, s.spec)
			if err != nil {
				rep.Skipped = append(rep.Skipped, Skipped{Generation: g.Number, Specialisation: s.name, Error: err.Error()})
				continue
			}
			entries = append(entries, se)
		}
	}
	noRemove := len(rep.Skipped) > 0
	if o.Closure && o.FSVerity {
		if err := in.probeFSVerity(def.Spec.Toplevel); err != nil {
			return err
		}
	}
	parts, err := in.partitions()
	if err != nil {
		return err
	}
	var currentDefaults []string
	for _, p := range parts {
		if !p.esp {
			continue
		}
		exists, ours, d, err := esp.ReadLoaderConf(p.fs)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrPartition, p.dir, err)
		}
		if exists && !ours && !o.ForceLoaderConf {
			return fmt.Errorf("%w: %s/%s: %w (use --force-loader-conf to replace it)", ErrPartition, p.dir, esp.LoaderConfPath, esp.ErrForeignLoaderConf)
		}
		if d != "" {
			currentDefaults = append(currentDefaults, d)
		}
	}
	var loader *bootLoader
	if loader, err = loadBootLoader(o.SystemdBoot); err != nil {
		return fmt.Errorf("%w: systemd-boot: %w", ErrOptions, err)
	}
	// Plan every partition before changing any.
	for _, p := range parts {
		plan := esp.Plan{FS: p.fs, NoRemove: noRemove, CurrentDefaults: currentDefaults, Record: true}
		if p.ukis {
			plan.Dirs = []string{esp.LinuxDir}
			plan.Owned = esp.OwnedEntry
			plan.Keep = func(name string) bool {
				n, ok := esp.EntryGeneration(path.Base(name))
				return ok && n == booted
			}
			for _, e := range entries {
				plan.Wants = append(plan.Wants, in.want(ctx, e, e == defEntry || (e.specName == "" && e.gen.Number == booted)))
			}
		}
		if p.esp {
			// Scanned for leftover temporary files; nothing else in them
			// is owned.
			plan.Dirs = append(plan.Dirs, path.Dir(esp.SystemdBootPath), path.Dir(esp.FallbackPath), path.Dir(esp.LoaderConfPath))
			plan.Wants = append(plan.Wants, loader.want(esp.SystemdBootPath, in.signer))
			if foreignFallback(p.fs) {
				in.warnings = append(in.warnings, fmt.Sprintf("%s/%s is another boot loader's; left alone", p.dir, esp.FallbackPath))
			} else {
				plan.Wants = append(plan.Wants, loader.want(esp.FallbackPath, in.signer))
			}
			plan.Wants = append(plan.Wants, esp.Want{
				Path: esp.LoaderConfPath, Required: true, Last: true,
				Content: esp.LoaderConf(esp.EntryID(defEntry.name), o.Loader),
			})
		}
		pr, err := esp.Prepare(plan)
		if ferr := in.fatalErr(); ferr != nil {
			return ferr // whichever entry met it first, every other would too
		}
		if errors.Is(err, esp.ErrNoSpace) {
			return fmt.Errorf("%w: %s: %w; nothing was changed", ErrFailed, p.dir, err)
		}
		if errors.Is(err, esp.ErrCannotMake) {
			return fmt.Errorf("%w: the default entry: %w; nothing was changed", ErrNoGeneration, err)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrFailed, p.dir, err)
		}
		p.plan = pr
	}
	rep.Default = defEntry.name
	rep.addVerity(entries)
	for _, p := range parts {
		rep.add(p.dir, p.plan, entries)
	}
	// The XBOOTLDR (UKIs) first, then the ESPs (loader.conf last on
	// each); removals only once every loader.conf names the new default.
	for _, p := range parts {
		res, err := p.plan.Apply()
		rep.BytesWritten += res.Written
		rep.addRecord(p.dir, res.Record)
		if err != nil {
			rep.markFailed()
			return fmt.Errorf("%w: %s: %w", ErrFailed, p.dir, err)
		}
	}
	for _, p := range parts {
		if err := p.plan.RemoveStale(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrFailed, p.dir, err)
		}
	}
	return nil
}

// partitions opens the XBOOTLDR (if any) and the ESPs.
func (in *installer) partitions() ([]*partition, error) {
	o := in.opts
	open := o.OpenFS
	if open == nil {
		open = func(dir string) (esp.FS, error) { return esp.OpenOS(dir, o.RequireVFAT) }
	}
	var parts []*partition
	if o.XBOOTLDR != "" {
		f, err := open(o.XBOOTLDR)
		if err != nil {
			return nil, fmt.Errorf("%w: --xbootldr: %w", ErrPartition, err)
		}
		parts = append(parts, &partition{dir: o.XBOOTLDR, fs: f, ukis: true})
	}
	for _, d := range o.ESPs {
		f, err := open(d)
		if err != nil {
			return nil, fmt.Errorf("%w: --esp: %w", ErrPartition, err)
		}
		parts = append(parts, &partition{dir: d, fs: f, esp: true, ukis: o.XBOOTLDR == ""})
	}
	return parts, nil
}

type flatSpec struct {
	name string
	spec *bootspec.Spec
}

// flatten lists nested specialisations, names joined by "-".
func flatten(ss []bootspec.Specialisation, prefix string) []flatSpec {
	var out []flatSpec
	for i := range ss {
		s := &ss[i]
		name := prefix + s.Name
		out = append(out, flatSpec{name: name, spec: &s.Spec})
		out = append(out, flatten(s.Specialisations, name+"-")...)
	}
	return out
}
