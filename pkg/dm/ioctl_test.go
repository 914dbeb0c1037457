package dm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestTablePayload(t *testing.T) {
	params := "1 7:0 7:1 4096 4096 129 1 sha256 ab -"
	b, err := tablePayload([]Target{
		{SectorStart: 0, Length: 1032, Type: "verity", Params: params},
		{SectorStart: 1032, Length: 8, Type: "zero"},
	})
	if err != nil {
		t.Fatal(err)
	}
	first := align8(SizeofDMTargetSpec + len(params) + 1)
	if len(b) != first+align8(SizeofDMTargetSpec+1) {
		t.Fatalf("payload of %d bytes", len(b))
	}
	if binary.LittleEndian.Uint64(b[8:]) != 1032 || binary.LittleEndian.Uint32(b[20:]) != uint32(first) {
		t.Errorf("spec fields % x", b[:24])
	}
	if !bytes.HasPrefix(b[24:], []byte("verity\x00")) || string(b[40:40+len(params)+1]) != params+"\x00" {
		t.Errorf("type or params wrong: %q", b[24:first])
	}
	if first%8 != 0 || binary.LittleEndian.Uint64(b[first:]) != 1032 || !bytes.HasPrefix(b[first+24:], []byte("zero\x00")) {
		t.Errorf("second spec wrong")
	}
}

func TestTablePayloadRejects(t *testing.T) {
	for _, tt := range []Target{
		{Length: 1, Type: ""},
		{Length: 1, Type: strings.Repeat("x", 16)},
		{Length: 1, Type: "linear", Params: "a\x00b"},
		{Length: 0, Type: "linear"},
	} {
		if _, err := tablePayload([]Target{tt}); err == nil {
			t.Errorf("%+v accepted", tt)
		}
	}
}

func TestNames(t *testing.T) {
	var d DMIoctl
	for _, bad := range []string{"", ".", "..", "a/b", strings.Repeat("n", 128), "a\x00"} {
		if d.setName(bad) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if err := d.setName(strings.Repeat("n", 127)); err != nil {
		t.Error(err)
	}
	if d.setUUID(strings.Repeat("u", 129)) == nil {
		t.Error("long uuid accepted")
	}
}

func versionsEntry(name string, v [3]uint32, last bool) []byte {
	size := align8(SizeofDMTargetVersions + len(name) + 1)
	b := make([]byte, size)
	if !last {
		binary.LittleEndian.PutUint32(b, uint32(size))
	}
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4+4*i:], x)
	}
	copy(b[16:], name)
	return b
}

func TestParseVersions(t *testing.T) {
	b := append(versionsEntry("linear", [3]uint32{1, 4, 0}, false), versionsEntry("verity", [3]uint32{1, 9, 0}, true)...)
	got, err := parseVersions(b)
	if err != nil || len(got) != 2 || got[1].Name != "verity" || got[1].Version != [3]uint32{1, 9, 0} {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Hostile answers: offsets past the end, missing NUL, truncation.
	bad := versionsEntry("linear", [3]uint32{1, 4, 0}, false)
	binary.LittleEndian.PutUint32(bad, 1<<20)
	for _, b := range [][]byte{bad, bytes.Repeat([]byte{'x'}, 24), make([]byte, 10)} {
		if _, err := parseVersions(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}

func FuzzParseVersions(f *testing.F) {
	f.Add(append(versionsEntry("linear", [3]uint32{1, 4, 0}, false), versionsEntry("verity", [3]uint32{1, 9, 0}, true)...))
	f.Fuzz(func(t *testing.T, b []byte) { parseVersions(b) })
}
