package bootcheck

import (
	"errors"
	"strings"
	"testing"
)

var digestHex = strings.Repeat("ab", 32)

func TestCmdlineValues(t *testing.T) {
	cases := []struct {
		line      string
		want      Values
		strictest Action
		err       error
	}{
		{"quiet", Values{}, "", nil},
		{"console=ttyS0 nix-closure-verify.root=/mnt nix-closure-verify.on-failure=warn",
			Values{"root": "/mnt", "on-failure": "warn"}, ActionWarn, nil},
		// The kernel and systemd treat "-" and "_" alike, in the prefix too.
		{"nix_closure_verify.on_failure=shell nix-closure-verify.hash_offset=4096",
			Values{"on-failure": "shell", "hash-offset": "4096"}, ActionShell, nil},
		// The same value twice counts once.
		{"nix-closure-verify.store=off nix-closure-verify.store=off", Values{"store": "off"}, "", nil},
		// A later word does not override an earlier one: it is refused.
		{"nix-closure-verify.digest=sha256:" + digestHex + " nix-closure-verify.digest=sha256:" + strings.Repeat("cd", 32), nil, "", ErrConflict},
		{"nix-closure-verify.on-failure=halt nix-closure-verify.on_failure=warn", nil, ActionHalt, ErrConflict},
		{"nix-closure-verify.on-failure=warn nix-closure-verify.store=on nix_closure_verify.store=off", nil, ActionWarn, ErrConflict},
		{"nix-closure-verify.store", nil, "", ErrBadValue},
		{"nix-closure-verify.=x", nil, "", ErrUnknownParam},
		// Words after "--" are init's, not the kernel's.
		{"nix-closure-verify.store=on -- nix-closure-verify.store=off", Values{"store": "on"}, "", nil},
	}
	for _, c := range cases {
		v, strictest, err := CmdlineValues(c.line)
		if !errors.Is(err, c.err) || strictest != c.strictest || (c.err == nil && !equalValues(v, c.want)) {
			t.Errorf("%q: %v %q %v", c.line, v, strictest, err)
		}
	}
}

func equalValues(a, b Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestValuesConfig(t *testing.T) {
	c, err := Values{"digest": "sha256:" + digestHex, "root": "/mnt", "on-failure": "warn", "jobs": "3"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Store || c.Root != "/mnt" || c.OnFailure != ActionWarn || c.Jobs != 3 ||
		c.Digest == nil || c.Manifest != DefaultManifest || c.Image != "" || c.Name != DefaultName {
		t.Fatalf("%+v", c)
	}
	c, err = Values{"store": "off", "image": "/dev/vdb", "root-hash": strings.Repeat("0", 64)}.Config()
	if err != nil || c.Store || c.Image != "/dev/vdb" || len(c.RootHash) != 32 || c.OnFailure != ActionHalt {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestValuesConfigErrors(t *testing.T) {
	for _, c := range []struct {
		v   Values
		err error
	}{
		{Values{"on-failure": "reboot"}, ErrBadValue},
		{Values{"bogus": "1"}, ErrUnknownParam},
		{Values{"digest": "sha256:12"}, ErrBadValue},
		{Values{"root-hash": "abcd", "image": "/dev/vdb"}, ErrBadValue},
		{Values{"image": "/dev/vdb"}, ErrInconsistent},
		{Values{"root-hash": strings.Repeat("0", 64)}, ErrInconsistent},
		{Values{"hash-offset": "4096"}, ErrInconsistent},
		{Values{"jobs": "0"}, ErrBadValue},
		{Values{"jobs": "99999999999999999999"}, ErrBadValue},
		{Values{"store": "maybe"}, ErrBadValue},
		{Values{"fsverity": "yes"}, ErrBadValue},
		{Values{"fsverity": "on", "store": "off"}, ErrInconsistent},
		{Values{"name": "a/b"}, ErrBadValue},
		{Values{"root": "sysroot"}, ErrBadValue},
		{Values{"manifest": "etc/m"}, ErrBadValue},
	} {
		if _, err := c.v.Config(); !errors.Is(err, c.err) {
			t.Errorf("%v: %v, want %v", c.v, err, c.err)
		}
	}
	// A bad value elsewhere still leaves the asked-for action in place.
	c, err := Values{"on-failure": "warn", "jobs": "x"}.Config()
	if err == nil || c.OnFailure != ActionWarn {
		t.Fatalf("%+v %v", c, err)
	}
}
