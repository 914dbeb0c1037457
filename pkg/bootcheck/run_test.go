package bootcheck

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

const storePath = "/nix/store/0zyjz9fv6bmlhm33pngnlqjiapi17wpn-demo"

// bootFixture is an initrd root holding a manifest of one store path, a
// store that matches it and one that does not.
type bootFixture struct {
	initrd, good, bad string
	manifest          []byte
	digest            string
}

func newBootFixture(t *testing.T) *bootFixture {
	t.Helper()
	dir := t.TempDir()
	f := &bootFixture{initrd: filepath.Join(dir, "initrd"), good: filepath.Join(dir, "good"), bad: filepath.Join(dir, "bad")}
	for _, root := range []string{f.good, f.bad} {
		p := filepath.Join(root, storePath)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		content := "hello\n"
		if root == f.bad {
			content = "hellO\n"
		}
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := closure.Rehash(context.Background(), []string{storePath}, closure.RehashOptions{Root: f.good})
	if err != nil {
		t.Fatal(err)
	}
	m, err := closure.NewManifest(closure.DefaultStoreDir, entries)
	if err != nil {
		t.Fatal(err)
	}
	f.manifest = m.Marshal()
	f.digest = closure.DigestOf(f.manifest).String()
	writeFile(t, filepath.Join(f.initrd, closure.InitrdPath), f.manifest)
	return f
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// boot runs Boot with the given settings file (none when "") and command
// line (none when "\x00", an unreadable file).
func (f *bootFixture) boot(t *testing.T, settings, cmdline string, m *fakeMachine) (string, error) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "initrd")
	if err := os.CopyFS(root, os.DirFS(f.initrd)); err != nil {
		t.Fatal(err)
	}
	if settings != "" {
		writeFile(t, filepath.Join(root, closure.SettingsPath), []byte(settings))
	}
	path := filepath.Join(dir, "cmdline")
	if cmdline != "\x00" {
		writeFile(t, path, []byte(cmdline+"\n"))
	}
	var console bytes.Buffer
	err := Boot(context.Background(), Env{CmdlinePath: path, InitrdRoot: root, Console: &console, Machine: m})
	return console.String(), err
}

func TestBoot(t *testing.T) {
	f := newBootFixture(t)
	settings := func(extra ...string) string {
		v := Values{"digest": f.digest, "root": f.good}
		for _, kv := range extra {
			k, val, _ := strings.Cut(kv, "=")
			v[k] = val
		}
		data, err := MarshalSettings(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	// What nix-uki build signs: the user's words and the digest.
	signed := "console=ttyS0 nix-closure-verify.root=" + f.good + " nix-closure-verify.digest=" + f.digest
	const p = " nix-closure-verify."
	otherDigest := "sha256:" + strings.Repeat("0", 64)
	bad := func(s string) string { return strings.ReplaceAll(s, f.good, f.bad) }

	cases := []struct {
		name              string
		settings, cmdline string
		machine           fakeMachine
		stop              error // nil: the boot goes on
		poweroff, shell   int
		console           []string // each must appear
	}{
		// Fail closed by default (issue 8 §1).
		{name: "no parameters, no settings", cmdline: "console=ttyS0 quiet",
			stop: ErrNotConfigured, poweroff: 1, console: []string{"no signed settings", "powering off"}},
		{name: "manifest in the initrd, no digest", cmdline: "nix-closure-verify.root=" + f.good,
			stop: ErrNoDigest, poweroff: 1},
		{name: "no digest, even with on-failure=fail", cmdline: "nix-closure-verify.on-failure=fail",
			stop: ErrNoDigest},
		{name: "store=off explicitly, no image", cmdline: "nix-closure-verify.store=off",
			console: []string{"store check skipped (store=off) and no store image: nothing is checked"}},
		{name: "command line only, pristine store", cmdline: signed,
			console: []string{"no signed settings", "store ok: 1 store paths"}},
		{name: "command line only, tampered store", cmdline: bad(signed),
			stop: ErrFailed, poweroff: 1, console: []string{"FAILED " + storePath + ": content-hash"}},
		{name: "unreadable command line", cmdline: "\x00", stop: os.ErrNotExist, poweroff: 1},
		{name: "command line only, second digest appended", cmdline: signed + p + "digest=" + otherDigest,
			stop: ErrConflict, poweroff: 1},
		{name: "command line only, same setting twice, strictest action known", cmdline: signed + p + "on-failure=warn" + p + "on_failure=fail" + p + "jobs=1" + p + "jobs=2",
			stop: ErrConflict},

		// The signed settings decide (issue 8 §1b).
		{name: "settings, pristine store", settings: settings(), cmdline: signed,
			console: []string{"settings from the signed initrd", "store ok: 1 store paths"}},
		{name: "settings, no parameters on the command line", settings: settings(), cmdline: "console=ttyS0",
			console: []string{"store ok: 1 store paths"}},
		{name: "settings, tampered store", settings: bad(settings()), cmdline: "",
			stop: ErrFailed, poweroff: 1},
		{name: "settings, second digest appended", settings: settings(), cmdline: signed + p + "digest=" + otherDigest,
			stop: ErrConflict, poweroff: 1},
		{name: "settings, digest replaced on the command line", settings: settings(), cmdline: "nix-closure-verify.digest=" + otherDigest,
			stop: ErrNotSigned, poweroff: 1},
		{name: "settings, manifest appended", settings: settings(), cmdline: signed + p + "manifest=/sysroot/evil",
			stop: ErrNotSigned, poweroff: 1},
		{name: "settings, root changed", settings: settings(), cmdline: "nix-closure-verify.root=" + f.bad,
			stop: ErrNotSigned, poweroff: 1},
		{name: "settings, store=off appended", settings: settings(), cmdline: signed + p + "store=off",
			stop: ErrWeaker, poweroff: 1},
		{name: "settings, store_off underscore spelling", settings: settings(), cmdline: signed + " nix_closure_verify.store=off",
			stop: ErrWeaker, poweroff: 1},
		{name: "settings, on-failure=warn appended", settings: bad(settings()), cmdline: bad(signed) + p + "on-failure=warn",
			stop: ErrWeaker, poweroff: 1},
		{name: "settings, on_failure=warn underscore spelling", settings: settings("on-failure=shell"), cmdline: signed + p + "on_failure=warn",
			shell: 1, console: []string{"never weaker", "emergency shell"}},
		{name: "settings warn, command line halt is stricter", settings: bad(settings("on-failure=warn")), cmdline: p + "on-failure=halt",
			stop: ErrFailed, poweroff: 1, console: []string{"on-failure=halt from the kernel command line (stricter than the signed warn)"}},
		{name: "settings warn, tampered store boots loudly", settings: bad(settings("on-failure=warn")), cmdline: "",
			console: []string{"FAILED " + storePath, "WARNING"}},
		{name: "settings warn, the strictest action known acts on a conflict", settings: settings("on-failure=warn"), cmdline: p + "on-failure=fail" + p + "jobs=1" + p + "jobs=2",
			stop: ErrConflict},
		{name: "settings store=off, command line store=on is stricter", settings: settings("store=off"), cmdline: p + "store=on",
			console: []string{"store=on from the kernel command line", "store ok: 1 store paths"}},
		{name: "settings store=off, nothing checked", settings: settings("store=off"), cmdline: "",
			console: []string{"nothing is checked"}},
		{name: "settings fsverity=on, command line fsverity=off", settings: settings("fsverity=on"), cmdline: p + "fsverity=off",
			stop: ErrWeaker, poweroff: 1},
		{name: "settings, fsverity=on from the command line is stricter", settings: settings(), cmdline: p + "fsverity=on",
			stop: ErrFailed, poweroff: 1, console: []string{"fsverity=on from the kernel command line", "per-file digests"}},
		{name: "settings store=off, command line fsverity=on alone cannot be done", settings: settings("store=off"), cmdline: p + "fsverity=on",
			stop: ErrInconsistent, poweroff: 1},
		{name: "settings, fsverity=off repeats the default", settings: settings(), cmdline: p + "fsverity=off",
			console: []string{"store ok: 1 store paths"}},
		{name: "settings, jobs not signed", settings: settings(), cmdline: p + "jobs=2", stop: ErrNotSigned, poweroff: 1},
		{name: "settings, unknown parameter", settings: settings(), cmdline: p + "bogus=1", stop: ErrUnknownParam, poweroff: 1},
		{name: "settings, bad value on the command line", settings: settings(), cmdline: p + "on-failure=reboot", stop: ErrBadValue, poweroff: 1},
		{name: "malformed settings", settings: "nix-closure-verify-settings 1\nroot=/x\n", cmdline: signed + p + "on-failure=warn",
			stop: ErrSettings, poweroff: 1},
		{name: "halt that cannot power off", cmdline: "", machine: fakeMachine{powerErr: errors.New("EPERM")},
			stop: ErrNotConfigured, poweroff: 1},

		// Store images, through the machine's verity device.
		{name: "image opened, store skipped", cmdline: "nix-closure-verify.store=off nix-closure-verify.image=/dev/vda nix-closure-verify.root-hash=" + digestHex,
			console: []string{"store check skipped (store=off): the store image is verified block by block", "opened through dm-verity as /dev/mapper/nix-store"}},
		{name: "image refused", cmdline: "nix-closure-verify.store=off nix-closure-verify.image=/dev/vda nix-closure-verify.root-hash=" + digestHex,
			machine: fakeMachine{openErr: errors.New("root hash mismatch")}, stop: ErrFailed, poweroff: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.machine
			console, err := f.boot(t, c.settings, c.cmdline, &m)
			var stop *StopError
			if c.stop == nil && err != nil || c.stop != nil && (!errors.As(err, &stop) || !errors.Is(err, c.stop)) {
				t.Fatalf("got %v, want %v\n%s", err, c.stop, console)
			}
			if m.poweredOff != c.poweroff || m.shell != c.shell {
				t.Errorf("machine %+v, want %d power off, %d shell\n%s", m, c.poweroff, c.shell, console)
			}
			for _, want := range c.console {
				if !strings.Contains(console, want) {
					t.Errorf("console lacks %q:\n%s", want, console)
				}
			}
			if err != nil && strings.Contains(console, err.Error()) {
				t.Errorf("the returned error repeats the console:\n%s\n%v", console, err)
			}
		})
	}
}

func TestBootOpensTheConfiguredImage(t *testing.T) {
	f := newBootFixture(t)
	m := &fakeMachine{}
	_, err := f.boot(t, "", "nix-closure-verify.store=off nix-closure-verify.image=/dev/vda nix-closure-verify.hash-device=/dev/vdb"+
		" nix-closure-verify.hash-offset=8192 nix-closure-verify.name=store nix-closure-verify.root-hash="+digestHex, m)
	if err != nil || len(m.opened) != 1 {
		t.Fatal(err, m.opened)
	}
	o := m.opened[0]
	if o.Image != "/dev/vda" || o.HashPath != "/dev/vdb" || o.HashOffset != 8192 || o.Name != "store" || len(o.RootHash) != 32 {
		t.Fatalf("%+v", o)
	}
}
