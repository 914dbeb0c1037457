package bootcheck

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

const testManifest = `nix-closure-manifest 1
store-dir /nix/store
paths 1
nar-bytes 120
/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a sha256:0000000000000000000000000000000000000000000000000000 120
end
`

func TestInitrdArchive(t *testing.T) {
	line := "console=ttyS0 nix-closure-verify.root=/sysroot nix_closure_verify.on_failure=shell"
	a, param, err := InitrdArchive([]byte(testManifest), line)
	if err != nil {
		t.Fatal(err)
	}
	digest := closure.DigestOf([]byte(testManifest)).String()
	if param.Key != closure.DigestParam || param.Value != digest {
		t.Fatalf("param %v", param)
	}
	settings := "nix-closure-verify-settings 1\ndigest=" + digest + "\non-failure=shell\nroot=/sysroot\nend\n"
	for _, want := range []string{closure.InitrdPath, closure.SettingsPath, testManifest, settings} {
		if !bytes.Contains(a, []byte(want)) {
			t.Errorf("archive lacks %q", want)
		}
	}
	b, _, err := InitrdArchive([]byte(testManifest), line)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatal("not reproducible", err)
	}
	// The settings read back and say what the signed line said.
	v, err := ParseSettings([]byte(settings))
	if err != nil {
		t.Fatal(err)
	}
	c, notes, err := Decide(v, line+" "+param.String())
	if err != nil || !c.Store || c.OnFailure != ActionShell || c.Digest == nil || c.Digest.String() != digest {
		t.Fatalf("%+v %v %v", c, notes, err)
	}
}

func TestInitrdArchiveRefuses(t *testing.T) {
	for _, c := range []struct {
		line string
		err  error
	}{
		{"nix-closure-verify.on-failure=reboot", ErrBadValue},
		{"nix-closure-verify.bogus=1", ErrUnknownParam},
		{"nix-closure-verify.store=on nix-closure-verify.store=off", ErrConflict},
		{"nix-closure-verify.digest=sha256:" + digestHex, kcmdline.ErrHasParam},
		{"nix-closure-verify.manifest=/other", ErrInconsistent},
		{"nix-closure-verify.image=/dev/vda", ErrInconsistent},
	} {
		if _, _, err := InitrdArchive([]byte(testManifest), c.line); !errors.Is(err, c.err) {
			t.Errorf("%q: %v, want %v", c.line, err, c.err)
		}
	}
	if _, _, err := InitrdArchive([]byte("not a manifest\n"), ""); err == nil {
		t.Error("a malformed manifest was embedded")
	}
}
