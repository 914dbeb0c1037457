package bootcheck

import (
	"bytes"
	"testing"
)

// Settings files read back only as written: whatever ParseSettings
// accepts, MarshalSettings writes byte for byte.
func FuzzParseSettings(f *testing.F) {
	f.Add([]byte("nix-closure-verify-settings 1\ndigest=sha256:" + digestHex + "\non-failure=shell\nroot=/sysroot\nend\n"))
	f.Add([]byte("nix-closure-verify-settings 1\nend\n"))
	f.Add([]byte("nix-closure-verify-settings 1\nimage=/dev/vda\nroot-hash=" + digestHex + "\nstore=off\nend\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseSettings(data)
		if err != nil {
			return
		}
		out, err := MarshalSettings(v)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("accepted %q, writes %q (%v)", data, out, err)
		}
	})
}

// Whatever the command line says, the outcome is never weaker than the
// signed settings, the failure action is always one we know, and a store
// check never runs without a digest.
func FuzzDecide(f *testing.F) {
	signed := []byte("nix-closure-verify-settings 1\ndigest=sha256:" + digestHex + "\nroot=/sysroot\nend\n")
	for _, c := range []struct {
		settings []byte
		cmdline  string
	}{
		{nil, ""},
		{nil, "console=ttyS0 nix-closure-verify.digest=sha256:" + digestHex},
		{nil, "nix-closure-verify.store=off"},
		{signed, "console=ttyS0 nix-closure-verify.digest=sha256:" + digestHex + " nix_closure_verify.store=off"},
		{signed, "nix-closure-verify.on-failure=warn nix-closure-verify.on-failure=halt"},
		{[]byte("nix-closure-verify-settings 1\non-failure=warn\nstore=off\nend\n"), "nix-closure-verify.store=on nix-closure-verify.on-failure=fail"},
	} {
		f.Add(c.settings, c.cmdline)
	}
	f.Fuzz(func(t *testing.T, settings []byte, cmdline string) {
		v, err := ParseSettings(settings)
		if err != nil {
			v = nil
		}
		c, _, err := Decide(v, cmdline)
		if strictness[c.OnFailure] == 0 {
			t.Fatalf("action %q (%v)", c.OnFailure, err)
		}
		if err == nil && c.Store && c.Digest == nil {
			t.Fatalf("store check without a digest: %+v", c)
		}
		if v == nil {
			return
		}
		s, _ := v.Config()
		if strictness[c.OnFailure] < strictness[s.OnFailure] {
			t.Fatalf("on-failure %s weaker than the signed %s", c.OnFailure, s.OnFailure)
		}
		if err != nil {
			return
		}
		if s.Store && !c.Store || c.Root != s.Root || c.Manifest != s.Manifest || c.Image != s.Image ||
			!bytes.Equal(c.RootHash, s.RootHash) || (c.Digest == nil) != (s.Digest == nil) ||
			c.Digest != nil && *c.Digest != *s.Digest || c.HashDevice != s.HashDevice || c.HashOffset != s.HashOffset || c.Name != s.Name {
			t.Fatalf("the command line %q changed the signed settings:\n%+v\n%+v", cmdline, s, c)
		}
	})
}
