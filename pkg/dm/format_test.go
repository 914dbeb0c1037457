package dm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// golang.org/x/sys/unix generates its DM types and constants from the
// kernel's linux/dm-ioctl.h; our layout must agree with them.
func TestLayoutMatchesXSys(t *testing.T) {
	var d unix.DmIoctl
	var s unix.DmTargetSpec
	checks := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof dm_ioctl", SizeofDMIoctl, unsafe.Sizeof(d)},
		{"sizeof dm_target_spec", SizeofDMTargetSpec, unsafe.Sizeof(s)},
		{"sizeof dm_target_versions", SizeofDMTargetVersions, unsafe.Sizeof(unix.DmTargetVersions{})},
		{"data_size", offDataSize, unsafe.Offsetof(d.Data_size)},
		{"data_start", offDataStart, unsafe.Offsetof(d.Data_start)},
		{"target_count", offTargetCount, unsafe.Offsetof(d.Target_count)},
		{"open_count", offOpenCount, unsafe.Offsetof(d.Open_count)},
		{"flags", offFlags, unsafe.Offsetof(d.Flags)},
		{"event_nr", offEventNr, unsafe.Offsetof(d.Event_nr)},
		{"dev", offDev, unsafe.Offsetof(d.Dev)},
		{"name", offName, unsafe.Offsetof(d.Name)},
		{"uuid", offUUID, unsafe.Offsetof(d.Uuid)},
		{"data", offData, unsafe.Offsetof(d.Data)},
		{"DM_VERSION", uintptr(DM_VERSION), unix.DM_VERSION},
		{"DM_DEV_CREATE", uintptr(DM_DEV_CREATE), unix.DM_DEV_CREATE},
		{"DM_DEV_REMOVE", uintptr(DM_DEV_REMOVE), unix.DM_DEV_REMOVE},
		{"DM_DEV_SUSPEND", uintptr(DM_DEV_SUSPEND), unix.DM_DEV_SUSPEND},
		{"DM_DEV_STATUS", uintptr(DM_DEV_STATUS), unix.DM_DEV_STATUS},
		{"DM_TABLE_LOAD", uintptr(DM_TABLE_LOAD), unix.DM_TABLE_LOAD},
		{"DM_TABLE_STATUS", uintptr(DM_TABLE_STATUS), unix.DM_TABLE_STATUS},
		{"DM_LIST_VERSIONS", uintptr(DM_LIST_VERSIONS), unix.DM_LIST_VERSIONS},
		{"DM_READONLY_FLAG", DM_READONLY_FLAG, unix.DM_READONLY_FLAG},
		{"DM_SUSPEND_FLAG", DM_SUSPEND_FLAG, unix.DM_SUSPEND_FLAG},
		{"DM_BUFFER_FULL_FLAG", DM_BUFFER_FULL_FLAG, unix.DM_BUFFER_FULL_FLAG},
		{"DM_UUID_FLAG", DM_UUID_FLAG, unix.DM_UUID_FLAG},
		{"DM_NAME_LEN", DM_NAME_LEN, unix.DM_NAME_LEN},
		{"DM_UUID_LEN", DM_UUID_LEN, unix.DM_UUID_LEN},
		{"DM_MAX_TYPE_NAME", DM_MAX_TYPE_NAME, unix.DM_MAX_TYPE_NAME},
		{"DM_VERSION_MAJOR", DM_VERSION_MAJOR, unix.DM_VERSION_MAJOR},
		{"LOOP_CONFIGURE", LOOP_CONFIGURE, unix.LOOP_CONFIGURE},
		{"LOOP_CTL_GET_FREE", LOOP_CTL_GET_FREE, unix.LOOP_CTL_GET_FREE},
		{"LOOP_SET_FD", LOOP_SET_FD, unix.LOOP_SET_FD},
		{"LOOP_CLR_FD", LOOP_CLR_FD, unix.LOOP_CLR_FD},
		{"LO_FLAGS_READ_ONLY", LO_FLAGS_READ_ONLY, unix.LO_FLAGS_READ_ONLY},
		{"LO_FLAGS_AUTOCLEAR", LO_FLAGS_AUTOCLEAR, unix.LO_FLAGS_AUTOCLEAR},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: ours %#x, x/sys %#x", c.name, c.got, c.want)
		}
	}
}

// The kernel's own header is the final word: compile a probe against
// /usr/include/linux/dm-ioctl.h (gcc, libc6-dev, linux-libc-dev; scripts/deps
// installs them). Outside CI a machine without them skips this (x/sys above
// still checks the layout); in CI it fails.
func TestLayoutMatchesKernelHeader(t *testing.T) {
	const header = "/usr/include/linux/dm-ioctl.h"
	cc := peer.Tool(t, "cc")
	peer.File(t, header)
	dir := t.TempDir()
	src := filepath.Join(dir, "probe.c")
	prog := `#include <stdio.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/dm-ioctl.h>
int main(void) {
	printf("%zu %zu %zu %zu %zu %zu %zu %zu %lu %lu %lu\n",
		sizeof(struct dm_ioctl), sizeof(struct dm_target_spec),
		offsetof(struct dm_ioctl, dev), offsetof(struct dm_ioctl, name),
		offsetof(struct dm_ioctl, uuid), offsetof(struct dm_ioctl, data),
		offsetof(struct dm_target_spec, next), offsetof(struct dm_target_spec, target_type),
		(unsigned long)DM_DEV_CREATE, (unsigned long)DM_TABLE_LOAD, (unsigned long)DM_DEV_SUSPEND);
	return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "probe")
	if out, err := exec.Command(cc, "-o", bin, src).CombinedOutput(); err != nil {
		peer.Missing(t, "cannot compile a probe against %s (C headers missing?): %v\n%s", header, err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.ParseUint(f, 10, 64)
		got = append(got, n)
	}
	want := []uint64{SizeofDMIoctl, SizeofDMTargetSpec, offDev, offName, offUUID, offData, 20, 24,
		uint64(DM_DEV_CREATE), uint64(DM_TABLE_LOAD), uint64(DM_DEV_SUSPEND)}
	if len(got) != len(want) {
		t.Fatalf("probe printed %q", out)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: kernel header %d, ours %d", i, got[i], want[i])
		}
	}
}

// Our encoding, read back through x/sys's struct, gives the same fields.
func TestDMIoctlMarshal(t *testing.T) {
	d := DMIoctl{Version: [3]uint32{4, 1, 2}, DataSize: 1000, DataStart: 312, TargetCount: 3,
		OpenCount: -1, Flags: DM_READONLY_FLAG, EventNr: 9, Dev: 0xfe00000001}
	d.setName("store")
	d.setUUID("VERITY-x")
	b := make([]byte, SizeofDMIoctl)
	d.MarshalTo(b)
	k := (*unix.DmIoctl)(unsafe.Pointer(&b[0]))
	if k.Version != d.Version || k.Data_size != 1000 || k.Data_start != 312 || k.Target_count != 3 ||
		k.Open_count != -1 || k.Flags != 1 || k.Event_nr != 9 || k.Dev != d.Dev ||
		string(k.Name[:6]) != "store\x00" || string(k.Uuid[:9]) != "VERITY-x\x00" {
		t.Errorf("kernel view %+v", *k)
	}
	var back DMIoctl
	if err := back.UnmarshalFrom(b); err != nil || back != d {
		t.Errorf("round trip %+v, %v", back, err)
	}
	if err := back.UnmarshalFrom(b[:311]); err == nil {
		t.Error("short buffer accepted")
	}
}
