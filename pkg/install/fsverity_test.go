package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/bootspec"
	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
	"github.com/nix-boot-security/nix-boot-security/pkg/generation"
	"github.com/nix-boot-security/nix-boot-security/pkg/storeverity"
)

// closureCheck.fsverity: the flag's value wins over the file's, and it
// needs the closure check.
func TestFSVerityOptions(t *testing.T) {
	stub, on, off := "/stub", true, false
	base := func() *Config {
		return &Config{Version: 1, ESPs: []string{"/boot"}, Stub: &stub, SystemdBoot: &stub,
			SecureBoot: &SecureBootConfig{AllowUnsigned: &on}, ClosureCheck: &ClosureCheckConfig{FSVerity: &on}}
	}
	for _, tc := range []struct {
		name string
		over *Config
		want bool
		err  string
	}{
		{"file", &Config{}, true, ""},
		{"flag off", &Config{ClosureCheck: &ClosureCheckConfig{FSVerity: &off}}, false, ""},
		{"without the check", &Config{ClosureCheck: &ClosureCheckConfig{Enable: &off}}, false, "needs the closure check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Merge(base(), tc.over).Options()
			switch {
			case tc.err != "":
				if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case o.FSVerity != tc.want:
				t.Errorf("FSVerity %v, want %v", o.FSVerity, tc.want)
			}
		})
	}
	c, err := ParseConfig([]byte(`{"version": 1, "closureCheck": {"fsverity": true}}`))
	if err != nil || c.ClosureCheck.FSVerity == nil || !*c.ClosureCheck.FSVerity {
		t.Fatalf("config with closureCheck.fsverity: %+v, %v", c, err)
	}
}

// The setting reaches the signed command line (hence the settings file) and
// the entry's name; off, names stay what they were before the setting.
func TestFSVerityRecipe(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	names := map[bool]string{}
	for _, v := range []bool{false, true} {
		o := w.options()
		o.FSVerity = v
		in := &installer{opts: o, extraParams: o.ExtraParams, ids: identities{storeDir: closure.DefaultStoreDir, seen: map[string]string{}}}
		defer in.closeKeys()
		if err := in.load(context.Background()); err != nil {
			t.Fatal(err)
		}
		gens, err := generation.List(o.Profiles)
		if err != nil || len(gens) != 1 || gens[0].Err != nil {
			t.Fatalf("generations %+v, %v", gens, err)
		}
		g := &gens[0]
		e, err := in.newEntry(g, "", &g.Spec.Spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(e.cmdline, "nix-closure-verify.fsverity=on"); got != v {
			t.Errorf("fsverity %v: command line %q", v, e.cmdline)
		}
		names[v] = e.name
	}
	if names[false] == names[true] {
		t.Errorf("the setting does not change the entry's name %s", names[false])
	}
}

// On a store whose filesystem has no fs-verity (this machine's), an
// install asking for it stops with one line saying what to do, before
// anything is hashed or written.
func TestFSVerityUnsupported(t *testing.T) {
	w := newWorld(t)
	w.add(t, 1)
	w.add(t, 2)
	if err := storeverity.Probe(w.top); err == nil {
		t.Skipf("the store here has fs-verity: enabling is tested in the VM (tests/vm)")
	}
	o := w.options()
	o.FSVerity = true
	rep, err := Run(context.Background(), o)
	if !errors.Is(err, ErrFSVerity) || !errors.Is(err, fsverity.ErrUnsupported) {
		t.Fatalf("got %v, want ErrFSVerity wrapping fsverity.ErrUnsupported", err)
	}
	t.Log(err)
	if msg := err.Error(); !strings.Contains(msg, "tune2fs -O verity") || strings.Contains(msg, "\n") || !strings.Contains(msg, "nothing was changed") {
		t.Errorf("message %q", msg)
	}
	if names, _ := filepath.Glob(filepath.Join(w.esp, "*")); len(names) > 0 {
		t.Errorf("files written: %v", names)
	}
	if rep.Changed() {
		t.Errorf("report says something changed: %+v", rep)
	}
}

// With fs-verity, the manifest embedded is version 2, made from the same
// closure as the version 1 one (every path and NAR hash), each path's
// files reproducing Nix's NAR hash; written twice, the same bytes.
func TestFSVerityManifestV2(t *testing.T) {
	fx := nixtest.Build(t)
	t.Setenv("NIX_CONFIG", nixtest.Config)
	ctx := context.Background()
	v1, err := closureManifest(ctx, fx.Top, ManifestFromDB, closure.DefaultStoreDir)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := closure.ParseManifest(v1)
	if err != nil {
		t.Fatal(err)
	}
	var outs [2]bytes.Buffer
	for i, from := range []string{ManifestFromDB, ManifestFromHash} {
		if err := closureManifestV2(ctx, &outs[i], fx.Top, from, closure.DefaultStoreDir, ""); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Error("version 2 manifests from the database and from hashing differ")
	}
	r, err := closure.NewManifestReader(bytes.NewReader(outs[0].Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header(); h.Version != 2 || h.Paths != uint64(len(m1.Entries)) {
		t.Fatalf("header %+v, want version 2 with %d paths", h, len(m1.Entries))
	}
	regular := 0
	for i := 0; ; i++ {
		pn, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if pn.Entry != m1.Entries[i] {
			t.Errorf("path %d: %+v, version 1 has %+v", i, pn.Entry, m1.Entries[i])
		}
		for _, n := range pn.Nodes {
			if n.Type == closure.NodeRegular {
				regular++
			}
		}
	}
	if regular == 0 {
		t.Error("no regular file recorded")
	}
	// Through the installer's own file writer: the digest is the file's.
	in := &installer{opts: Options{ManifestFrom: ManifestFromDB, StoreDir: closure.DefaultStoreDir}}
	p := filepath.Join(t.TempDir(), "m")
	e := &entry{spec: &bootspec.Spec{Toplevel: fx.Top}}
	d, err := in.writeManifestV2(ctx, e, p)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if !bytes.Equal(data, outs[0].Bytes()) || d != closure.DigestOf(data) {
		t.Errorf("writeManifestV2: %d bytes, digest %s; want the manifest above and its digest", len(data), d)
	}
}
