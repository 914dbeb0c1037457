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
	"syscall"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/systemtest"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/esp"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// world is a machine to install on: generations, keys and an ESP.
type world struct {
	dir      string
	profiles *systemtest.Profiles
	top      string // the fixture closure every generation boots
	id       *testcert.Identity
	esp      string
	booted   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	for _, f := range []string{systemtest.Stub, systemtest.SystemdBoot} {
		if _, err := os.Stat(f); err != nil {
			peer.Missing(t, "systemd-boot-efi: %v", err)
		}
	}
	fx := nixtest.Build(t)
	t.Setenv("NIX_CONFIG", nixtest.Config)
	dir := t.TempDir()
	w := &world{dir: dir, profiles: systemtest.New(t, dir), top: fx.Top, esp: filepath.Join(dir, "esp"), booted: filepath.Join(dir, "booted-system")}
	w.id = testcert.New(t, testcert.Template{Name: "db", Dir: dir})
	if err := os.Mkdir(w.esp, 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) add(t *testing.T, n int, specs ...string) string {
	return w.profiles.Add(t, systemtest.Generation{Number: n, Toplevel: w.top, Time: time.Date(2026, 1, n, 12, 0, 0, 0, time.UTC), Specialisations: specs})
}

func (w *world) options() Options {
	lim := 0
	c := &Config{Version: 1, ESPs: []string{w.esp}, Profiles: &w.profiles.Dir, ConfigurationLimit: &lim}
	stub, sd := systemtest.Stub, systemtest.SystemdBoot
	c.Stub, c.SystemdBoot = &stub, &sd
	c.SecureBoot = &SecureBootConfig{PrivateKey: &w.id.KeyPath, Certificate: &w.id.CertPath}
	c.Loader = map[string]string{"timeout": "3"}
	o, err := c.Options()
	if err != nil {
		panic(err)
	}
	o.RequireVFAT = false
	o.BootedSystem = w.booted
	return o
}

func statusOf(rep *Report, gen int, spec string) string {
	for _, f := range rep.Files {
		if f.Generation == gen && f.Specialisation == spec {
			return f.Status
		}
	}
	return ""
}

// verifyESP checks every UKI and systemd-boot copy: signed by our key,
// and each UKI's embedded manifest matches the digest on its command line.
func verifyESP(t *testing.T, w *world) []string {
	return verifyESPWith(t, w, true)
}

func verifyESPWith(t *testing.T, w *world, checkClosure bool) []string {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(w.esp, esp.LinuxDir, "*.efi"))
	for _, p := range append(names, filepath.Join(w.esp, esp.SystemdBootPath), filepath.Join(w.esp, esp.FallbackPath)) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := authenticode.VerifyImage(f, []*x509.Certificate{w.id.Cert}, authenticode.Options{}); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if s := f.Section(uki.SectionCmdline); s != nil && checkClosure {
			line, _ := f.SectionData(s, 1<<20)
			if !strings.Contains(string(line), bootcheck.Prefix+".digest=sha256:") || !strings.Contains(string(line), "nix-closure-verify.on-failure=halt") {
				t.Errorf("%s: command line %q", p, line)
			}
		}
	}
	return names
}

func TestRunInstall(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	booted := w.add(t, 2)
	w.add(t, 3, "debug")
	os.Symlink(booted, w.booted)
	ctx := context.Background()
	rep, err := Run(ctx, w.options())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		n    int
		spec string
	}{{1, ""}, {2, ""}, {3, ""}, {3, "debug"}} {
		if s := statusOf(rep, g.n, g.spec); s != "installed" {
			t.Errorf("generation %d %s: %q", g.n, g.spec, s)
		}
	}
	if names := verifyESP(t, w); len(names) != 4 {
		t.Errorf("entries %v", names)
	}
	conf, _ := os.ReadFile(filepath.Join(w.esp, esp.LoaderConfPath))
	if !strings.Contains(string(conf), "default nixos-generation-3-") || !strings.Contains(string(conf), "timeout 3\n") || !strings.Contains(string(conf), "editor no\n") {
		t.Errorf("loader.conf:\n%s", conf)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Logf("first run:\n%s", text.String())
	if !strings.Contains(text.String(), "\ndigests: installed "+filepath.Join(w.esp, esp.DigestRecordPath)+"\n") {
		t.Errorf("the digest record is not reported:\n%s", text.String())
	}
	checkRecord(t, w.esp, 4)

	// Idempotence: nothing written, same inodes and mtimes.
	before := snapshot(t, w.esp)
	rep, err = Run(ctx, w.options())
	if err != nil || rep.BytesWritten != 0 || rep.Changed() {
		t.Fatalf("second run: %v, %d bytes, changed %v", err, rep.BytesWritten, rep.Changed())
	}
	if after := snapshot(t, w.esp); after != before {
		t.Errorf("second run changed files:\n%s\n%s", before, after)
	}
	text.Reset()
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "nothing to do") || strings.Contains(text.String(), "\ndigests: ") {
		t.Errorf("no-op report:\n%s", text.String())
	}

	// Without the digest record every file is checked in full and none
	// is rewritten: only the record is written again.
	record := filepath.Join(w.esp, esp.DigestRecordPath)
	want, _ := os.ReadFile(record)
	os.Remove(record)
	before = snapshot(t, filepath.Join(w.esp, "EFI"))
	rep, err = Run(ctx, w.options())
	if err != nil || rep.BytesWritten != int64(len(want)) {
		t.Fatalf("without the record: %v, %d bytes written, want %d", err, rep.BytesWritten, len(want))
	}
	for _, f := range rep.Files {
		if f.Status != "unchanged" && (f.Path != esp.DigestRecordPath || f.Status != "installed") {
			t.Errorf("without the record: %s %s", f.Path, f.Status)
		}
	}
	if after := snapshot(t, filepath.Join(w.esp, "EFI")); after != before {
		t.Errorf("without the record, files changed:\n%s\n%s", before, after)
	}
	if got, _ := os.ReadFile(record); !bytes.Equal(got, want) {
		t.Errorf("record written again:\n%s\nwant:\n%s", got, want)
	}

	// A damaged entry is rewritten.
	names := verifyESP(t, w)
	data, _ := os.ReadFile(names[0])
	data[len(data)/2] ^= 1
	os.WriteFile(names[0], data, 0o644)
	rep, err = Run(ctx, w.options())
	if err != nil {
		t.Fatal(err)
	}
	repaired := 0
	for _, f := range rep.Files {
		if f.Status == "repaired" {
			repaired++
		}
	}
	if repaired != 1 {
		t.Errorf("%d repaired, want 1", repaired)
	}
	verifyESP(t, w)

	// A new generation and a limit of 2: generation 1 goes, the booted
	// generation 2 stays although it is beyond the limit.
	w.add(t, 4)
	w.add(t, 5)
	o := w.options()
	o.Limit = 2
	rep, err = Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if statusOf(rep, 1, "") != "removed" || statusOf(rep, 2, "") != "unchanged" || statusOf(rep, 3, "") != "removed" || statusOf(rep, 5, "") != "installed" {
		text.Reset()
		rep.WriteText(&text)
		t.Errorf("with a limit:\n%s", text.String())
	}
	// A generation whose bootspec is broken is skipped, and nothing is
	// removed in that run.
	w.profiles.Add(t, systemtest.Generation{Number: 6, Toplevel: w.top, BootJSON: "{"})
	o.Limit = 1
	rep, err = Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Generation != 6 || statusOf(rep, 4, "") != "" {
		t.Errorf("skipped %v; generation 4 %q", rep.Skipped, statusOf(rep, 4, ""))
	}
	if _, err := os.Stat(filepath.Join(w.esp, esp.LinuxDir)); err != nil {
		t.Fatal(err)
	}
	if n := verifyESP(t, w); len(n) != 3 {
		t.Errorf("entries after a run with a skipped generation: %v", n)
	}
}

// checkRecord checks the partition's digest record: n lines, each the
// XXH64 digest and size of the file it names (found with or without a
// boot counter).
func checkRecord(t *testing.T, root string, n int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, esp.DigestRecordPath))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := esp.ParseDigestRecord(data)
	if err != nil || len(rec) != n {
		t.Fatalf("record of %d lines, want %d: %v\n%s", len(rec), n, err, data)
	}
	names, _ := filepath.Glob(filepath.Join(root, esp.LinuxDir, "*.efi"))
	for _, p := range names {
		key := esp.DigestKey(esp.LinuxDir + "/" + filepath.Base(p))
		got, ok := rec[key]
		content, _ := os.ReadFile(p)
		if !ok || got != (esp.Digest{Sum: xxhash.Sum64(content), Size: int64(len(content))}) {
			t.Errorf("record for %s: %v %v", key, got, ok)
		}
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s %s %d\n", p, fi.ModTime(), st.Ino)
		return nil
	})
	return b.String()
}

func TestRunRefusals(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(o *Options)
		want  error
		text  string
	}{
		{"foreign loader.conf", func(o *Options) {
			os.MkdirAll(filepath.Join(w.esp, "loader"), 0o755)
			os.WriteFile(filepath.Join(w.esp, esp.LoaderConfPath), []byte("default other.conf\n"), 0o644)
		}, ErrPartition, "not written by nix-uki install"},
		{"missing key", func(o *Options) { o.SigningKey = filepath.Join(w.dir, "none.key") }, ErrKey, "none.key"},
		{"key in the store", func(o *Options) {
			store := filepath.Join(w.dir, "store")
			os.MkdirAll(store, 0o755)
			data, _ := os.ReadFile(w.id.KeyPath)
			os.WriteFile(filepath.Join(store, "db.key"), data, 0o600)
			saved := keys.StoreDirs
			keys.StoreDirs = []string{store}
			t.Cleanup(func() { keys.StoreDirs = saved })
			o.SigningKey = filepath.Join(store, "db.key")
		}, keys.ErrInStore, "store/db.key"},
		{"no ESP", func(o *Options) { o.ESPs = []string{filepath.Join(w.dir, "nowhere")} }, ErrPartition, "nowhere"},
		{"not FAT", func(o *Options) { o.RequireVFAT = true }, ErrPartition, "not a FAT file system"},
		{"toplevel not a generation", func(o *Options) { o.Toplevel = w.dir }, ErrNoGeneration, "is not a generation"},
		{"no generations", func(o *Options) { o.Profiles = w.esp }, ErrNoGeneration, "none in"},
		{"default kernel missing", func(o *Options) {
			w.profiles.Add(t, systemtest.Generation{Number: 2, Toplevel: w.top, Kernel: "/nix/store/00000000000000000000000000000000-linux/bzImage"})
		}, ErrNoGeneration, "bzImage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(w.esp)
			os.Mkdir(w.esp, 0o755)
			o := w.options()
			tc.setup(&o)
			_, err := Run(ctx, o)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.text)
			}
			if names, _ := filepath.Glob(filepath.Join(w.esp, "*", "*")); len(names) > 0 && tc.name != "foreign loader.conf" {
				t.Errorf("files written: %v", names)
			}
		})
	}
}

// The manifest from Nix's database and the one from hashing the store agree.
func TestManifestSources(t *testing.T) {
	fx := nixtest.Build(t)
	t.Setenv("NIX_CONFIG", nixtest.Config)
	ctx := context.Background()
	db, err := closureManifest(ctx, fx.Top, ManifestFromDB, closure.DefaultStoreDir)
	if err != nil {
		t.Fatal(err)
	}
	hashed, err := closureManifest(ctx, fx.Top, ManifestFromHash, closure.DefaultStoreDir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(db, hashed) {
		t.Errorf("manifests differ:\n%s\n%s", db, hashed)
	}
}

// Several ESPs and an XBOOTLDR: the UKIs go to the XBOOTLDR only,
// systemd-boot and loader.conf to every ESP; boot counting names new
// entries +N; a PCR key adds a signed policy.
func TestRunLayouts(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	w.add(t, 2)
	second, xbootldr := filepath.Join(w.dir, "esp2"), filepath.Join(w.dir, "xbootldr")
	os.Mkdir(second, 0o755)
	os.Mkdir(xbootldr, 0o755)
	o := w.options()
	o.ESPs = append(o.ESPs, second)
	o.XBOOTLDR = xbootldr
	o.Tries = 3
	o.PCRKey, o.PCRBanks, o.Phases = w.id.KeyPath, []string{"sha256"}, []string{"enter-initrd"}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	ukis, _ := filepath.Glob(filepath.Join(xbootldr, esp.LinuxDir, "*.efi"))
	if len(ukis) != 2 || !strings.HasSuffix(ukis[0], "+3.efi") {
		t.Fatalf("UKIs on the XBOOTLDR: %v", ukis)
	}
	for _, d := range []string{w.esp, second} {
		if n, _ := filepath.Glob(filepath.Join(d, esp.LinuxDir, "*")); len(n) > 0 {
			t.Errorf("UKIs on the ESP %s: %v", d, n)
		}
		conf, err := os.ReadFile(filepath.Join(d, esp.LoaderConfPath))
		if err != nil || !strings.Contains(string(conf), "default nixos-generation-2-") || strings.Contains(string(conf), "+3") {
			t.Errorf("%s loader.conf: %q %v", d, conf, err)
		}
		if err := verifyFile(filepath.Join(d, esp.FallbackPath), w.id.Cert); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	data, _ := os.ReadFile(ukis[0])
	f, err := pe.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Section(uki.SectionPCRSig) == nil || f.Section(uki.SectionPCRPKey) == nil {
		t.Error("no .pcrsig or .pcrpkey")
	}
	// systemd-boot counts a try down: the entry keeps its identity.
	renamed := strings.TrimSuffix(ukis[0], "+3.efi") + "+2-1.efi"
	os.Rename(ukis[0], renamed)
	rep, err := Run(context.Background(), o)
	if err != nil || rep.Changed() {
		t.Fatalf("after a counted try: %v, changed %v", err, rep.Changed())
	}
}

// An older generation whose kernel is gone is reported failed, the rest
// is installed, and nothing is removed in that run.
func TestRunOlderKernelMissing(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	w.add(t, 2)
	if _, err := Run(context.Background(), w.options()); err != nil {
		t.Fatal(err)
	}
	w.profiles.Add(t, systemtest.Generation{Number: 1, Toplevel: w.top, Kernel: "/nix/store/00000000000000000000000000000000-linux/bzImage"})
	w.add(t, 3)
	o := w.options()
	o.Limit = 2
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if statusOf(rep, 3, "") != "installed" || statusOf(rep, 2, "") != "unchanged" {
		t.Errorf("generations 3 and 2: %q %q", statusOf(rep, 3, ""), statusOf(rep, 2, ""))
	}
	o.Limit = 3
	stale := filepath.Join(w.esp, esp.LinuxDir, esp.EntryName(9, "", "0123456789abcdef0123", 0))
	os.WriteFile(stale, []byte("an entry of a generation that is gone"), 0o644)
	rep, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	failed := false
	for _, f := range rep.Files {
		if f.Generation == 1 && f.Status == "failed" && strings.Contains(f.Reason, "bzImage") {
			failed = true
		}
		if f.Status == "removed" {
			t.Errorf("removed %s in a run with a failed entry", f.Path)
		}
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("an owned file was removed in a run with a failed entry: %v", err)
	}
	if !failed {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("generation 1 not reported failed:\n%s", b.String())
	}
}
