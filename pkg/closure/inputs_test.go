package closure

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
)

// The three inputs Nix produces and our own rehashing must give the same
// manifest, byte for byte, for a real closure.
func TestInputsAgreeWithNix(t *testing.T) {
	fx := nixtest.Build(t)
	fromReg, err := ParseRegistration(strings.NewReader(fx.Registration))
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := os.ReadFile(fx.AttrsJSON)
	if err != nil {
		t.Fatal(err)
	}
	fromAttrs, err := ParseAttrsJSON(attrs)
	if err != nil {
		t.Fatal(err)
	}
	fromInfo, err := ParsePathInfoJSON([]byte(fx.PathInfoJSON))
	if err != nil {
		t.Fatal(err)
	}
	fromRehash, err := Rehash(context.Background(), []string{fx.Top}, RehashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := mustManifest(t, fromReg)
	if len(want.Entries) != len(fx.Closure) {
		t.Fatalf("registration has %d paths, nix-store -qR %d", len(want.Entries), len(fx.Closure))
	}
	for name, entries := range map[string][]Entry{"attrs.json": fromAttrs, "path-info": fromInfo, "rehash": fromRehash} {
		got := mustManifest(t, entries)
		if !bytes.Equal(got.Marshal(), want.Marshal()) {
			t.Errorf("%s manifest differs from registration's:\n%s\nvs\n%s", name, got.Marshal(), want.Marshal())
		}
	}
}

func mustManifest(t *testing.T, entries []Entry) *Manifest {
	t.Helper()
	m, err := NewManifest(DefaultStoreDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseNarHashForms(t *testing.T) {
	// One digest in every form Nix writes.
	forms := []string{
		"sha256:0000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	}
	for _, f := range forms {
		h, err := ParseNarHash(f)
		if err != nil || h != [32]byte{} {
			t.Errorf("%s: %v %x", f, err, h)
		}
	}
	for _, bad := range []string{"", "md5:00", "sha256:xyz", "sha1-AAAA"} {
		if _, err := ParseNarHash(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBadInputs(t *testing.T) {
	cases := map[string]func() error{
		"truncated registration": func() error {
			_, err := ParseRegistration(strings.NewReader("/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x\n"))
			return err
		},
		"attrs without closure": func() error { _, err := ParseAttrsJSON([]byte(`{"name":"x"}`)); return err },
		"attrs not json":        func() error { _, err := ParseAttrsJSON([]byte(`{`)); return err },
		"path-info scalar":      func() error { _, err := ParsePathInfoJSON([]byte(`3`)); return err },
		"path-info no hash":     func() error { _, err := ParsePathInfoJSON([]byte(`[{"path":"/nix/store/x","narSize":1}]`)); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
