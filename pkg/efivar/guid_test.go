package efivar

import (
	"bytes"
	"testing"
)

func TestGUID(t *testing.T) {
	tests := []struct {
		in   string
		wire []byte // on-disk bytes, from the UEFI specification's layout
		ok   bool
	}{
		{"8be4df61-93ca-11d2-aa0d-00e098032b8c",
			[]byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}, true},
		{"D719B2CB-3D3A-4596-A3BC-DAD00E67656F",
			[]byte{0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f}, true},
		{"8be4df61-93ca-11d2-aa0d-00e098032b8", nil, false},
		{"8be4df6193ca-11d2-aa0d-00e098032b8c-", nil, false},
		{"zbe4df61-93ca-11d2-aa0d-00e098032b8c", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		g, err := ParseGUID(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseGUID(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		if !bytes.Equal(g[:], tt.wire) {
			t.Errorf("ParseGUID(%q) = % x, want % x", tt.in, g[:], tt.wire)
		}
		if s := g.String(); !bytes.EqualFold([]byte(s), []byte(tt.in)) {
			t.Errorf("String() = %q, want %q", s, tt.in)
		}
	}
	if got := EFI_GLOBAL_VARIABLE.String(); got != "8be4df61-93ca-11d2-aa0d-00e098032b8c" {
		t.Errorf("EFI_GLOBAL_VARIABLE = %s", got)
	}
	if got := DB.EfivarfsName(); got != "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f" {
		t.Errorf("db efivarfs name %s", got)
	}
}
