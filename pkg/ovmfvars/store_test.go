package ovmfvars

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustParseGUID(s string) efivar.GUID {
	g, err := efivar.ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// emptyStore builds a volume of size bytes holding an empty
// authenticated store over all of it after the volume header, as the
// fuzz seeds' recipe does.
func emptyStore(size int) []byte {
	b := bytes.Repeat([]byte{erasedByte}, size)
	copy(b, make([]byte, 16))
	copy(b[fvFileSystemGUIDOffset:], EFI_SYSTEM_NV_DATA_FV_GUID[:])
	le.PutUint64(b[fvLengthOffset:], uint64(size))
	copy(b[fvSignatureOffset:], fvSignature)
	le.PutUint32(b[44:], 0x0004feff) // attributes as OVMF's
	le.PutUint16(b[fvHeaderLengthOffset:], fvMinHeaderLength)
	le.PutUint16(b[50:], 0) // checksum, below
	le.PutUint16(b[52:], 0) // no extended header
	b[54], b[55] = 0, 2     // reserved, revision
	le.PutUint32(b[56:], uint32(size/0x1000))
	le.PutUint32(b[60:], 0x1000)
	le.PutUint64(b[64:], 0) // block map terminator
	var sum uint16
	for i := 0; i < fvMinHeaderLength; i += 2 {
		sum += le.Uint16(b[i:])
	}
	le.PutUint16(b[50:], -sum)
	h := b[fvMinHeaderLength:]
	copy(h, EFI_AUTHENTICATED_VARIABLE_GUID[:])
	le.PutUint32(h[16:], uint32(size-fvMinHeaderLength))
	h[20], h[21] = VARIABLE_STORE_FORMATTED, VARIABLE_STORE_HEALTHY
	copy(h[22:28], make([]byte, 6))
	return b
}

func TestGUIDs(t *testing.T) {
	for want, g := range map[string]efivar.GUID{
		"fff12b8d-7696-4c8b-a985-2747075b4f50": EFI_SYSTEM_NV_DATA_FV_GUID,
		"aaf32c78-947b-439a-a180-2e144ec37792": EFI_AUTHENTICATED_VARIABLE_GUID,
		"ddcf3616-3275-4164-98b6-fe85707ffe7d": EFI_VARIABLE_GUID,
		"605dab50-e046-4300-abb6-3dd810dd8b23": SHIM_LOCK_GUID,
	} {
		if g.String() != want {
			t.Errorf("%s written as %s", want, g)
		}
	}
}

func TestSetGetDeleteRoundTrip(t *testing.T) {
	s, err := Parse(emptyStore(0x2000))
	if err != nil {
		t.Fatal(err)
	}
	g := mustParseGUID("11111111-2222-3333-4444-555555555555")
	if err := s.Set("a", g, 3, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("b", g, 7, []byte{2, 2, 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAuthenticated(efivar.DB, []byte("lists"), testTime); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("a", g, 3, []byte{9, 9}); err != nil { // replaced in place
		t.Fatal(err)
	}
	var names []string
	for _, v := range s.Variables() {
		names = append(names, v.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "b", "db"}) {
		t.Errorf("order %v", names)
	}
	if v, ok := s.Get("a", g); !ok || !bytes.Equal(v.Data, []byte{9, 9}) {
		t.Errorf("Get a: %+v %v", v, ok)
	}
	if v, _ := s.Get("db", efivar.DB.GUID); v.TimeStamp != [16]byte{0xe9, 0x07, 1, 2, 3, 4, 5} {
		t.Errorf("db timestamp % x", v.TimeStamp)
	}
	if err := s.Delete("b", g); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("b", g); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	b1, err := s.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Parse(b1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s2.Variables(), s.Variables()) {
		t.Errorf("round trip:\n%+v\n%+v", s2.Variables(), s.Variables())
	}
	b2, _ := s2.Bytes()
	if !bytes.Equal(b1, b2) {
		t.Error("writing the same variables twice gives other bytes")
	}
	if len(b1) != 0x2000 || !bytes.Equal(b1[:fvMinHeaderLength], emptyStore(0x2000)[:fvMinHeaderLength]) {
		t.Error("volume header or size changed")
	}
}

func TestSetErrors(t *testing.T) {
	s, err := Parse(emptyStore(0x1000))
	if err != nil {
		t.Fatal(err)
	}
	g := efivar.EFI_GLOBAL_VARIABLE
	for _, name := range []string{"", "a\x00b", "\U0001F600", "bad\xffutf8"} {
		if err := s.Set(name, g, 7, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if err := s.Set("big", g, 7, make([]byte, 0x1000)); !errors.Is(err, ErrFull) {
		t.Errorf("too big: %v", err)
	}
	if len(s.Variables()) != 0 {
		t.Error("a refused Set changed the store")
	}
	if err := s.SetAuthenticated(efivar.SetupMode, nil, testTime); !errors.Is(err, ErrInvalid) {
		t.Errorf("not authenticated: %v", err)
	}
	if err := s.SetMokList(g); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty MokList: %v", err)
	}
	// Exactly full is fine.
	room := 0x1000 - fvMinHeaderLength - storeHeaderSize - variableHeaderSize - 4
	if err := s.Set("x", g, 7, make([]byte, room)); err != nil {
		t.Errorf("exactly full: %v", err)
	}
}

// appendRaw writes a variable header by hand at pos with the given state.
func appendRaw(b []byte, pos int, state byte, name string, g efivar.GUID, data []byte) int {
	n, _ := encodeName(name)
	le.PutUint16(b[pos:], VARIABLE_DATA)
	b[pos+2], b[pos+3] = state, 0
	le.PutUint32(b[pos+4:], 7)
	copy(b[pos+8:pos+36], make([]byte, 28))
	le.PutUint32(b[pos+36:], uint32(len(n)))
	le.PutUint32(b[pos+40:], uint32(len(data)))
	copy(b[pos+44:], g[:])
	copy(b[pos+60:], n)
	copy(b[pos+60+len(n):], data)
	return align(pos + 60 + len(n) + len(data))
}

// TestStates: deleted copies and unfinished writes are skipped; a copy in
// deletion counts only without an added one (edk2's rule).
func TestStates(t *testing.T) {
	g := efivar.EFI_GLOBAL_VARIABLE
	b := emptyStore(0x1000)
	pos := fvMinHeaderLength + storeHeaderSize
	pos = appendRaw(b, pos, VAR_IN_DELETED_TRANSITION, "A", g, []byte("old A"))
	pos = appendRaw(b, pos, 0x3C, "B", g, []byte("deleted B"))
	pos = appendRaw(b, pos, VAR_ADDED, "A", g, []byte("new A"))
	pos = appendRaw(b, pos, VAR_HEADER_VALID_ONLY, "C", g, []byte("half C"))
	appendRaw(b, pos, VAR_IN_DELETED_TRANSITION, "D", g, []byte("only D"))
	s, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range s.Variables() {
		got = append(got, v.Name+"="+string(v.Data))
	}
	if want := []string{"A=new A", "D=only D"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseMalformed(t *testing.T) {
	g := efivar.EFI_GLOBAL_VARIABLE
	good := emptyStore(0x1000)
	first := fvMinHeaderLength + storeHeaderSize
	appendRaw(good, first, VAR_ADDED, "A", g, []byte("a"))
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	fixSum := func(b []byte) {
		le.PutUint16(b[50:], 0)
		var sum uint16
		for i := 0; i < fvMinHeaderLength; i += 2 {
			sum += le.Uint16(b[i:])
		}
		le.PutUint16(b[50:], -sum)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short", good[:fvMinHeaderLength], ErrMalformed},
		{"no _FVH", mod(func(b []byte) { b[fvSignatureOffset] = 'x' }), ErrMalformed},
		{"other file system", mod(func(b []byte) { b[fvFileSystemGUIDOffset] ^= 1; fixSum(b) }), ErrMalformed},
		{"checksum", mod(func(b []byte) { b[50] ^= 1 }), ErrMalformed},
		{"volume longer than file", mod(func(b []byte) { le.PutUint64(b[fvLengthOffset:], 0x1001); fixSum(b) }), ErrMalformed},
		{"header length odd", mod(func(b []byte) { le.PutUint16(b[fvHeaderLengthOffset:], 0x49); fixSum(b) }), ErrMalformed},
		{"header length huge", mod(func(b []byte) { le.PutUint16(b[fvHeaderLengthOffset:], 0xfffe); fixSum(b) }), ErrMalformed},
		{"non-authenticated store", mod(func(b []byte) { copy(b[fvMinHeaderLength:], EFI_VARIABLE_GUID[:]) }), ErrUnsupported},
		{"unknown store", mod(func(b []byte) { b[fvMinHeaderLength] ^= 1 }), ErrMalformed},
		{"store past volume", mod(func(b []byte) { le.PutUint32(b[fvMinHeaderLength+16:], 0x1000) }), ErrMalformed},
		{"store smaller than header", mod(func(b []byte) { le.PutUint32(b[fvMinHeaderLength+16:], 4) }), ErrMalformed},
		{"not formatted", mod(func(b []byte) { b[fvMinHeaderLength+20] = 0xff }), ErrMalformed},
		{"not healthy", mod(func(b []byte) { b[fvMinHeaderLength+21] = 0xff }), ErrMalformed},
		{"data past store", mod(func(b []byte) { le.PutUint32(b[first+40:], 0xffffffff) }), ErrMalformed},
		{"name size odd", mod(func(b []byte) { le.PutUint32(b[first+36:], 3) }), ErrMalformed},
		{"name without NUL", mod(func(b []byte) { le.PutUint32(b[first+36:], 2); b[first+60] = 'A' }), ErrMalformed},
		{"name empty", mod(func(b []byte) { le.PutUint32(b[first+36:], 2); b[first+60] = 0 }), ErrMalformed},
		{"name surrogate", mod(func(b []byte) { le.PutUint16(b[first+60:], 0xd800) }), ErrMalformed},
		{"live twice", mod(func(b []byte) {
			appendRaw(b, appendRaw(b, first, VAR_ADDED, "A", g, nil), VAR_ADDED, "A", g, nil)
		}), ErrMalformed},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
}
