package harness

import (
	"crypto/x509"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

func testPair(t *testing.T, cn string) KeyPair {
	t.Helper()
	id := testcert.New(t, testcert.Template{Name: cn})
	return KeyPair{Key: id.Key, Cert: id.Cert}
}

// TestOwnerKeyWrites checks the order of the writes and that each holds
// the attributes, an EFI_VARIABLE_AUTHENTICATION_2 and the certificates.
func TestOwnerKeyWrites(t *testing.T) {
	pk, kek, db1, db2 := testPair(t, "PK"), testPair(t, "KEK"), testPair(t, "db1"), testPair(t, "db2")
	owner, _ := efivar.ParseGUID("01234567-89ab-cdef-0123-456789abcdef")
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	writes, err := OwnerKeyWrites(OwnerKeys{PK: pk, KEK: kek, DB: []*x509.Certificate{db1.Cert, db2.Cert}, Owner: owner}, ts)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		certs []*x509.Certificate
	}{{"db", []*x509.Certificate{db1.Cert, db2.Cert}}, {"KEK", []*x509.Certificate{kek.Cert}}, {"PK", []*x509.Certificate{pk.Cert}}}
	if len(writes) != len(want) {
		t.Fatalf("%d writes, want %d", len(writes), len(want))
	}
	for i, w := range writes {
		if w.Variable.Name != want[i].name || w.Optional {
			t.Errorf("write %d: %s optional=%v, want %s", i, w.Variable.Name, w.Optional, want[i].name)
		}
		c := w.Content
		if attrs := binary.LittleEndian.Uint32(c); attrs != w.Variable.Attributes || attrs != 0x27 {
			t.Errorf("%s: attributes %#x", w.Label, attrs)
		}
		// 4 attribute bytes, 16 of EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID.
		certLen := int(binary.LittleEndian.Uint32(c[20:]))
		lists, err := efivar.ParseSignatureLists(c[20+certLen:])
		if err != nil {
			t.Fatalf("%s: %v", w.Label, err)
		}
		if len(lists) != len(want[i].certs) {
			t.Fatalf("%s: %d lists, want %d", w.Label, len(lists), len(want[i].certs))
		}
		for j, l := range lists {
			if l.Type != efivar.EFI_CERT_X509_GUID || l.Signatures[0].Owner != owner ||
				string(l.Signatures[0].Data) != string(want[i].certs[j].Raw) {
				t.Errorf("%s: list %d does not hold certificate %s", w.Label, j, want[i].certs[j].Subject)
			}
		}
	}
	if _, err := OwnerKeyWrites(OwnerKeys{PK: pk, KEK: kek, Owner: owner}, ts); err == nil {
		t.Error("empty db: no error")
	}
}

// TestEnrollScriptsParse checks the guest scripts with busybox sh -n.
func TestEnrollScriptsParse(t *testing.T) {
	NeedTools(t, "/bin/busybox")
	dir := t.TempDir()
	for name, script := range map[string]string{"efivars": EfivarsScript, "enroll": enrollScript} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("/bin/busybox", "sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}

func TestParseEfivarsLine(t *testing.T) {
	tests := []struct {
		line   string
		sb, sm int
		ok     bool
	}{
		{"efivars: SecureBoot=1 SetupMode=0", 1, 0, true},
		{"efivars: SecureBoot=0 SetupMode=1", 0, 1, true},
		{"efivars: SecureBoot=none SetupMode=none", -1, -1, true},
		{"efivars: SecureBoot=1", 0, 0, false},
		{"SecureBoot=1 SetupMode=0", 0, 0, false},
	}
	for _, tt := range tests {
		sb, sm, ok := ParseEfivarsLine(tt.line)
		if sb != tt.sb || sm != tt.sm || ok != tt.ok {
			t.Errorf("%q: %d %d %v, want %d %d %v", tt.line, sb, sm, ok, tt.sb, tt.sm, tt.ok)
		}
	}
}

// TestOwnerKeyWritesAsCertWrite: the writes pkg/enroll plans are, byte for
// byte, the ones the harness built itself before it used the product's
// planner (one X.509 list per certificate, the same signers).
func TestOwnerKeyWritesAsCertWrite(t *testing.T) {
	pk, kek, db1, db2 := testPair(t, "PK"), testPair(t, "KEK"), testPair(t, "db1"), testPair(t, "db2")
	owner, _ := efivar.ParseGUID("01234567-89ab-cdef-0123-456789abcdef")
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	writes, err := OwnerKeyWrites(OwnerKeys{PK: pk, KEK: kek, DB: []*x509.Certificate{db1.Cert, db2.Cert}, Owner: owner}, ts)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []struct {
		v      efivar.Variable
		signer KeyPair
		certs  []*x509.Certificate
	}{
		{efivar.DB, kek, []*x509.Certificate{db1.Cert, db2.Cert}},
		{efivar.KEK, pk, []*x509.Certificate{kek.Cert}},
		{efivar.PK, pk, []*x509.Certificate{pk.Cert}},
	} {
		want, err := CertWrite(w.v.Name, w.v, w.signer, owner, ts, w.certs...)
		if err != nil {
			t.Fatal(err)
		}
		if string(writes[i].Content) != string(want.Content) {
			t.Errorf("%s: the planned write differs from CertWrite's", w.v.Name)
		}
	}
}
