package medium

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeSystem lays out a sysfs block directory and /dev with regular files
// as devices: whole disks as top directories, partitions inside their
// disk's directory (linked from the class directory, as sysfs does).
type fakeSystem struct {
	t                 *testing.T
	sys, dev, devices string
}

func newFakeSystem(t *testing.T) *fakeSystem {
	d := t.TempDir()
	f := &fakeSystem{t: t, sys: filepath.Join(d, "class", "block"), dev: filepath.Join(d, "dev"), devices: filepath.Join(d, "devices")}
	for _, p := range []string{f.sys, f.dev, f.devices} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// pvd is a device holding an ISO 9660 volume.
func pvd(label, date string) []byte {
	b := make([]byte, 16*2048+2048)
	s := b[16*2048:]
	copy(s, "\x01CD001\x01")
	copy(s[40:72], label+"                                "[:32-len(label)])
	copy(s[830:], date)
	return b
}

func (f *fakeSystem) add(name, parent string, data []byte) {
	dir := filepath.Join(f.devices, name)
	if parent != "" {
		dir = filepath.Join(f.devices, parent, name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if parent != "" {
		os.WriteFile(filepath.Join(dir, "partition"), []byte("1\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "size"), []byte("100\n"), 0o644)
	if err := os.Symlink(dir, filepath.Join(f.sys, name)); err != nil {
		f.t.Fatal(err)
	}
	if data != nil {
		if err := os.WriteFile(filepath.Join(f.dev, name), data, 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fakeSystem) system() System {
	return System{SysBlock: f.sys, Dev: f.dev, Poll: time.Millisecond}
}

const date = "2499042009403287"
const uuid = "2499-04-20-09-40-32-87"

func TestFind(t *testing.T) {
	want := Query{Label: "NIXOS_ISO", UUID: uuid}
	cases := []struct {
		name  string
		setup func(f *fakeSystem)
		dev   string
		err   error
	}{
		{"cdrom", func(f *fakeSystem) {
			f.add("vda", "", make([]byte, 40000))
			f.add("sr0", "", pvd("NIXOS_ISO", date))
		}, "sr0", nil},
		{"hybrid on a disk, seen on the disk and its partition", func(f *fakeSystem) {
			f.add("sda", "", pvd("NIXOS_ISO", date))
			f.add("sda1", "sda", pvd("NIXOS_ISO", date))
			f.add("sda2", "sda", make([]byte, 100))
		}, "sda", nil},
		{"another ISO with the same label", func(f *fakeSystem) {
			f.add("sr0", "", pvd("NIXOS_ISO", "2026010100000000"))
		}, "", ErrNotFound},
		{"two media", func(f *fakeSystem) {
			f.add("sr0", "", pvd("NIXOS_ISO", date))
			f.add("sdb", "", pvd("NIXOS_ISO", date))
		}, "", ErrAmbiguous},
		{"device node missing, drive empty", func(f *fakeSystem) {
			f.add("sr1", "", nil)
		}, "", ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeSystem(t)
			c.setup(f)
			dev, err := f.system().Find(context.Background(), want, 20*time.Millisecond)
			if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
				t.Fatalf("%q, %v; want %v", dev, err, c.err)
			}
			if c.dev != "" && dev != filepath.Join(f.dev, c.dev) {
				t.Errorf("found %s, want %s", dev, c.dev)
			}
		})
	}
	if _, err := (System{}).Find(context.Background(), Query{}, time.Second); !errors.Is(err, ErrQuery) {
		t.Errorf("empty query: %v", err)
	}
}

// The medium may appear after the scan starts: it is waited for.
func TestFindWaits(t *testing.T) {
	f := newFakeSystem(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.add("sr0", "", pvd("NIXOS_ISO", date))
	}()
	dev, err := f.system().Find(context.Background(), Query{Label: "NIXOS_ISO"}, 30*time.Second)
	if err != nil || dev != filepath.Join(f.dev, "sr0") {
		t.Fatalf("%q, %v", dev, err)
	}
}
