package dm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeKernel checks each request the way drivers/md/dm-ioctl.c does
// (version, sizes, NUL-terminated name, target specs walked through their
// next offsets) and keeps a small device table. It stands in for the kernel
// on machines without device-mapper; the real kernel is exercised in the VM.
type fakeKernel struct {
	t       *testing.T
	devices map[string]string // name -> loaded table ("" before load)
	live    map[string]bool
	targets []string
	calls   []string
	failOn  uint
}

func newFake(t *testing.T) *fakeKernel {
	return &fakeKernel{t: t, devices: map[string]string{}, live: map[string]bool{}, targets: []string{"linear", "verity"}}
}

func (k *fakeKernel) Close() error { return nil }

func (k *fakeKernel) ioctl(req uint, buf []byte) error {
	var d DMIoctl
	if err := d.UnmarshalFrom(buf); err != nil {
		k.t.Fatalf("short buffer: %v", err)
	}
	if d.Version[0] != DM_VERSION_MAJOR || int(d.DataSize) != len(buf) || d.DataStart < SizeofDMIoctl || d.DataStart > d.DataSize {
		return unix.EINVAL
	}
	name := ""
	if i := bytes.IndexByte(d.Name[:], 0); i >= 0 {
		name = string(d.Name[:i])
	} else {
		return unix.EINVAL
	}
	if req == k.failOn {
		return unix.EINVAL
	}
	out := d
	out.Version = [3]uint32{4, 47, 0}
	switch req {
	case DM_VERSION:
		k.calls = append(k.calls, "version")
	case DM_DEV_CREATE:
		k.calls = append(k.calls, "create "+name)
		if _, ok := k.devices[name]; ok {
			return unix.EBUSY
		}
		k.devices[name] = ""
		out.Dev = unix.Mkdev(254, uint32(len(k.devices)-1))
	case DM_TABLE_LOAD:
		if _, ok := k.devices[name]; !ok {
			return unix.ENXIO
		}
		if d.Flags&DM_READONLY_FLAG == 0 {
			return unix.EINVAL
		}
		var lines []string
		spec, next := int(0), int(d.DataStart)
		for i := 0; i < int(d.TargetCount); i++ {
			spec += next
			if spec+SizeofDMTargetSpec > len(buf) {
				return unix.EINVAL
			}
			typ := string(bytes.TrimRight(buf[spec+24:spec+40], "\x00"))
			params := buf[spec+SizeofDMTargetSpec:]
			end := bytes.IndexByte(params, 0)
			if end < 0 {
				return unix.EINVAL
			}
			found := false
			for _, t := range k.targets {
				found = found || t == typ
			}
			if !found {
				return unix.EINVAL
			}
			lines = append(lines, typ+" "+string(params[:end]))
			next = int(binary.LittleEndian.Uint32(buf[spec+20:]))
		}
		k.devices[name] = strings.Join(lines, "\n")
		k.calls = append(k.calls, "load "+name)
	case DM_DEV_SUSPEND:
		if _, ok := k.devices[name]; !ok {
			return unix.ENXIO
		}
		k.live[name] = true
		out.Dev = unix.Mkdev(254, 0)
		k.calls = append(k.calls, "resume "+name)
	case DM_DEV_REMOVE:
		if _, ok := k.devices[name]; !ok {
			return unix.ENXIO
		}
		delete(k.devices, name)
		delete(k.live, name)
		k.calls = append(k.calls, "remove "+name)
	case DM_LIST_VERSIONS:
		var b []byte
		for i, t := range k.targets {
			b = append(b, versionsEntry(t, [3]uint32{1, 0, 0}, i == len(k.targets)-1)...)
		}
		if len(b) > len(buf)-int(d.DataStart) {
			out.Flags |= DM_BUFFER_FULL_FLAG
		} else {
			copy(buf[d.DataStart:], b)
			out.DataSize = d.DataStart + uint32(len(b))
		}
	default:
		return unix.ENOTTY
	}
	out.MarshalTo(buf)
	return nil
}

func TestSetup(t *testing.T) {
	k := newFake(t)
	c := &Control{t: k}
	if v, err := c.Version(); err != nil || v[1] != 47 {
		t.Fatalf("version %v %v", v, err)
	}
	targets := []Target{{Length: 1032, Type: "verity", Params: "1 7:0 7:1 4096 4096 129 1 sha256 ab -"}}
	dev, err := c.Setup("store", "VERITY-1", targets, true)
	if err != nil {
		t.Fatal(err)
	}
	if unix.Major(dev) != 254 || k.devices["store"] != "verity "+targets[0].Params || !k.live["store"] {
		t.Errorf("dev %d:%d, table %q", unix.Major(dev), unix.Minor(dev), k.devices["store"])
	}
	if _, err := c.Setup("store", "", targets, true); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v", err)
	}
	if err := c.RemoveDevice("store"); err != nil {
		t.Error(err)
	}
	if err := c.RemoveDevice("store"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
}

// Without the verity target the table load fails, the error says which
// module to load, and the half-made device is removed again.
func TestSetupNoTarget(t *testing.T) {
	k := newFake(t)
	k.targets = []string{"linear"}
	c := &Control{t: k}
	_, err := c.Setup("store", "", []Target{{Length: 8, Type: "verity", Params: "x"}}, true)
	if !errors.Is(err, ErrNoTarget) || !strings.Contains(err.Error(), "dm-verity") {
		t.Errorf("got %v", err)
	}
	if len(k.devices) != 0 || k.calls[len(k.calls)-1] != "remove store" {
		t.Errorf("left behind: %v, calls %v", k.devices, k.calls)
	}
}

func TestSetupResumeFails(t *testing.T) {
	k := newFake(t)
	k.failOn = DM_DEV_SUSPEND
	c := &Control{t: k}
	if _, err := c.Setup("store", "", []Target{{Length: 8, Type: "linear", Params: "7:0 0"}}, true); err == nil {
		t.Fatal("no error")
	}
	if len(k.devices) != 0 {
		t.Errorf("left behind: %v", k.devices)
	}
}
