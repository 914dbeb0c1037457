package bootcheck

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("console=ttyS0 nix-closure-verify.digest=sha256:" + strings.Repeat("ab", 32) +
		" nix-closure-verify.root=/mnt nix-closure-verify.on-failure=warn nix-closure-verify.jobs=3")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled || !c.Store || c.Root != "/mnt" || c.OnFailure != ActionWarn || c.Jobs != 3 ||
		c.Digest == nil || c.Manifest != DefaultManifest || c.Image != "" {
		t.Fatalf("%+v", c)
	}
	c, err = ParseConfig("quiet")
	if err != nil || c.Enabled || c.OnFailure != ActionHalt {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = ParseConfig("nix-closure-verify.store=off nix-closure-verify.image=/dev/vdb nix-closure-verify.root-hash=" + strings.Repeat("0", 64))
	if err != nil || c.Store || c.Image != "/dev/vdb" || len(c.RootHash) != 32 || c.Name != DefaultName {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, line := range []string{
		"nix-closure-verify.on-failure=reboot",
		"nix-closure-verify.bogus=1",
		"nix-closure-verify.digest=sha256:12",
		"nix-closure-verify.root-hash=abcd nix-closure-verify.image=/dev/vdb",
		"nix-closure-verify.image=/dev/vdb",
		"nix-closure-verify.root-hash=" + strings.Repeat("0", 64),
		"nix-closure-verify.jobs=0",
		"nix-closure-verify.store=maybe",
		"nix-closure-verify.name=a/b",
	} {
		if _, err := ParseConfig(line); err == nil {
			t.Errorf("%q accepted", line)
		}
	}
	// A bad value elsewhere still leaves the asked-for action in place.
	c, err := ParseConfig("nix-closure-verify.on-failure=warn nix-closure-verify.jobs=x")
	if err == nil || c.OnFailure != ActionWarn {
		t.Fatalf("%+v %v", c, err)
	}
}
