package bootcheck

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/medium"
)

// Issue 14: the store image on a medium (the ISO), found by its volume
// label and UUID, mounted read-only; the image opened through dm-verity
// from it and mounted where the system expects its store.
func TestBootImageOnMedium(t *testing.T) {
	f := newBootFixture(t)
	dir := t.TempDir()
	squashfs := filepath.Join(dir, "squashfs")
	writeFile(t, squashfs, append([]byte("hsqs"), make([]byte, 2000)...))
	erofs := filepath.Join(dir, "erofs")
	erofsHead := make([]byte, 2000)
	copy(erofsHead[1024:], []byte{0xe2, 0xe1, 0xf5, 0xe0})
	writeFile(t, erofs, erofsHead)
	neither := filepath.Join(dir, "neither")
	writeFile(t, neither, make([]byte, 2000))

	const uuid = "2721-11-10-23-59-59-45"
	line := "nix-closure-verify.store=off nix-closure-verify.medium-label=NIXOS_ISO nix-closure-verify.medium-uuid=" + uuid +
		" nix-closure-verify.image=/nix-store.squashfs nix-closure-verify.root-hash=" + digestHex
	cases := []struct {
		name    string
		cmdline string
		machine fakeMachine
		stop    error
		mounts  []string
		console []string
	}{
		{name: "found, opened and mounted at the root's store", cmdline: line,
			machine: fakeMachine{medium: "/dev/sr0", verityDev: squashfs},
			mounts:  []string{"/dev/sr0 " + MediumMount + " iso9660 0", squashfs + " /sysroot/nix/store squashfs 1"},
			console: []string{"medium (label NIXOS_ISO, UUID " + uuid + ") found at /dev/sr0, mounted read-only at " + MediumMount,
				"store image " + MediumMount + "/nix-store.squashfs opened through dm-verity",
				"store image mounted read-only at /sysroot/nix/store (squashfs)"}},
		{name: "erofs, store-mount given", cmdline: line + " nix-closure-verify.store-mount=/mnt-root/nix/.ro-store",
			machine: fakeMachine{medium: "/dev/vda", verityDev: erofs},
			mounts:  []string{"/dev/vda " + MediumMount + " iso9660 0", erofs + " /mnt-root/nix/.ro-store erofs 1"}},
		{name: "medium not found", cmdline: line, machine: fakeMachine{mediumErr: medium.ErrNotFound}, stop: medium.ErrNotFound},
		{name: "medium cannot be mounted", cmdline: line, machine: fakeMachine{medium: "/dev/sr0", mountErr: errors.New("EINVAL")},
			stop: ErrFailed, mounts: []string{"/dev/sr0 " + MediumMount + " iso9660 0"}},
		{name: "image refused", cmdline: line, machine: fakeMachine{medium: "/dev/sr0", openErr: errors.New("root hash mismatch")},
			stop: ErrFailed, mounts: []string{"/dev/sr0 " + MediumMount + " iso9660 0"}},
		{name: "neither squashfs nor erofs", cmdline: line, machine: fakeMachine{medium: "/dev/sr0", verityDev: neither},
			stop: ErrUnknownFS, mounts: []string{"/dev/sr0 " + MediumMount + " iso9660 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.machine
			console, err := f.boot(t, "", c.cmdline, &m)
			if c.stop == nil && err != nil || c.stop != nil && !errors.Is(err, c.stop) {
				t.Fatalf("got %v, want %v\n%s", err, c.stop, console)
			}
			if c.stop != nil && m.poweredOff != 1 {
				t.Errorf("a failure did not stop the boot\n%s", console)
			}
			if !reflect.DeepEqual(m.mounts, c.mounts) {
				t.Errorf("mounts %q, want %q", m.mounts, c.mounts)
			}
			if want := (medium.Query{Label: "NIXOS_ISO", UUID: uuid}); len(m.found) != 1 || m.found[0] != want {
				t.Errorf("medium looked for as %+v", m.found)
			}
			if len(m.opened) == 1 && (m.opened[0].Image != MediumMount+"/nix-store.squashfs" ||
				m.opened[0].HashPath != MediumMount+"/nix-store.squashfs.verity") {
				t.Errorf("opened %+v", m.opened[0])
			}
			for _, want := range c.console {
				if !strings.Contains(console, want) {
					t.Errorf("console lacks %q:\n%s", want, console)
				}
			}
		})
	}
}

func TestMediumConfig(t *testing.T) {
	img := "image=/nix-store.squashfs root-hash=" + digestHex
	cases := []struct {
		values string
		err    error
	}{
		{"medium-label=NIXOS_ISO " + img, nil},
		{"medium-uuid=2721-11-10-23-59-59-45 medium-wait=5 " + img, nil},
		{"medium-label=NIXOS_ISO", ErrInconsistent},
		{"store-mount=/sysroot/nix/store", ErrInconsistent},
		{"medium-label=NIXOS_ISO image=nix-store.squashfs root-hash=" + digestHex, ErrInconsistent},
		{"medium-label=NIXOS_ISO hash-device=tree " + img, ErrInconsistent},
		{"medium-uuid=2721-11-10-23-59-5945 " + img, ErrBadValue},
		{"medium-uuid=2721-11-10-23-59-59-4x " + img, ErrBadValue},
		{"medium-label=" + strings.Repeat("L", 33) + " " + img, ErrBadValue},
		{"medium-label=A medium-wait=0 " + img, ErrBadValue},
		{"medium-label=A store-mount=nix/store " + img, ErrBadValue},
		{"medium-label=A store-mount=off " + img, nil},
	}
	for _, c := range cases {
		v := Values{}
		for _, kv := range strings.Fields(c.values) {
			k, val, _ := strings.Cut(kv, "=")
			v[k] = val
		}
		conf, err := v.Config()
		if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("%s: %v, want %v", c.values, err, c.err)
		}
		want := "/sysroot/nix/store"
		if strings.Contains(c.values, "store-mount=off") {
			want = ""
		}
		if err == nil && conf.StoreMount != want {
			t.Errorf("%s: store-mount %q", c.values, conf.StoreMount)
		}
	}
}
