package enroll

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/ovmfvars"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
)

// The inputs of pkg/efivar's efitools goldens (testdata/golden/recipe.sh
// there): owner, timestamp, and the db key and certificate.
const (
	goldenDir     = "../efivar/testdata/golden"
	goldenOwner   = "11111111-2222-3333-4444-555555555555"
	efitoolsTime  = "2025-01-02 03:04:05"
	testOwnerGUID = "6e62732d-7465-7374-2d6f-776e65726b65"
)

var goldenTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenSet is a key set whose three keys are the golden db key.
func goldenSet(t *testing.T) *sbkeys.KeySet {
	t.Helper()
	block, _ := pem.Decode(readFile(t, goldenDir+"/db.crt"))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(readFile(t, goldenDir+"/db.key"))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := efivar.ParseGUID(goldenOwner)
	p := sbkeys.Pair{Key: key.(crypto.Signer), Cert: cert}
	return &sbkeys.KeySet{Owner: owner, PK: p, KEK: p, DB: p}
}

// TestPlanGolden: the db write of the plan is, byte for byte, what
// cert-to-efi-sig-list and sign-efi-sig-list wrote for the same inputs
// (pkg/efivar's goldens), so the check runs without efitools too.
func TestPlanGolden(t *testing.T) {
	set := goldenSet(t)
	writes := signedPlan(t, set)
	var names []string
	for _, w := range writes {
		names = append(names, w.Variable.Name)
	}
	if strings.Join(names, ",") != "db,KEK,PK" {
		t.Fatalf("order %v, want db, KEK, PK (PK last)", names)
	}
	if !bytes.Equal(writes[0].Data, readFile(t, goldenDir+"/db.esl")) {
		t.Error("db signature list differs from cert-to-efi-sig-list's")
	}
	if !bytes.Equal(writes[0].Auth, readFile(t, goldenDir+"/db.auth")) {
		t.Error("db.auth differs from sign-efi-sig-list's")
	}
}

// TestPlanMatchesEfitools: every write of a fresh key set (each variable
// signed by its own signer) against efitools run now.
func TestPlanMatchesEfitools(t *testing.T) {
	certTool, signTool := peer.Tool(t, "cert-to-efi-sig-list"), peer.Tool(t, "sign-efi-sig-list")
	dir := t.TempDir()
	owner, _ := efivar.ParseGUID(testOwnerGUID)
	set, err := sbkeys.Create(dir, sbkeys.CreateOptions{Bits: 2048, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	writes := signedPlan(t, set)
	certOf := map[string]sbkeys.Role{"db": sbkeys.DB, "KEK": sbkeys.KEK, "PK": sbkeys.PK}
	for _, w := range writes {
		name := w.Variable.Name
		esl, auth := filepath.Join(dir, name+".esl"), filepath.Join(dir, name+".auth")
		run(t, certTool, "-g", testOwnerGUID, sbkeys.CertPath(dir, certOf[name]), esl)
		run(t, signTool, "-t", efitoolsTime, "-k", sbkeys.KeyPath(dir, w.SignedBy), "-c", sbkeys.CertPath(dir, w.SignedBy), name, esl, auth)
		if !bytes.Equal(w.Data, readFile(t, esl)) {
			t.Errorf("%s: signature list differs from cert-to-efi-sig-list's", name)
		}
		if !bytes.Equal(w.Auth, readFile(t, auth)) {
			t.Errorf("%s: authenticated write differs from sign-efi-sig-list's", name)
		}
	}
}

// signedPlan is the plan for set at goldenTime, signed.
func signedPlan(t *testing.T, set *sbkeys.KeySet) []Write {
	t.Helper()
	writes, err := Plan(set, PlanOptions{Time: goldenTime})
	if err != nil {
		t.Fatal(err)
	}
	if err := Sign(writes, set); err != nil {
		t.Fatal(err)
	}
	return writes
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func TestMicrosoftFromOVMF(t *testing.T) {
	peer.File(t, DefaultMicrosoftSource)
	s, err := ovmfvars.Open(DefaultMicrosoftSource)
	if err != nil {
		t.Fatal(err)
	}
	m, err := MicrosoftFrom(s)
	if err != nil {
		t.Fatal(err)
	}
	subjects := func(lists []efivar.SignatureList) (out []string) {
		for _, l := range lists {
			c, err := x509.ParseCertificate(l.Signatures[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	if got := strings.Join(subjects(m.KEK), ";"); got != "Microsoft Corporation KEK CA 2011" {
		t.Errorf("KEK: %s", got)
	}
	if got := strings.Join(subjects(m.DB), ";"); got != "Microsoft Windows Production PCA 2011;Microsoft Corporation UEFI CA 2011" {
		t.Errorf("db: %s", got)
	}
	// The plan puts ours first, then Microsoft's.
	set := goldenSet(t)
	writes, err := Plan(set, PlanOptions{Microsoft: m, Time: goldenTime})
	if err != nil {
		t.Fatal(err)
	}
	if len(writes[0].Lists) != 3 || len(writes[1].Lists) != 2 || len(writes[2].Lists) != 1 {
		t.Errorf("lists: db %d KEK %d PK %d", len(writes[0].Lists), len(writes[1].Lists), len(writes[2].Lists))
	}
	// A store without Microsoft's keys is refused.
	empty, err := ovmfvars.Open("/usr/share/OVMF/OVMF_VARS_4M.fd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MicrosoftFrom(empty); !errors.Is(err, ErrNoMicrosoft) {
		t.Errorf("empty store: %v", err)
	}
}

// fakeFlags records immutable-flag calls on a plain directory.
type fakeFlags struct{ cleared []string }

func (f *fakeFlags) Immutable(*os.File) (bool, error) { return true, nil }
func (f *fakeFlags) ClearImmutable(fh *os.File) error {
	f.cleared = append(f.cleared, filepath.Base(fh.Name()))
	return nil
}

func writeVar(t *testing.T, root string, v efivar.Variable, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, v.EfivarfsName()), v.EfivarfsContent(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnrollEfivarfs(t *testing.T) {
	set := goldenSet(t)
	writes, err := Plan(set, PlanOptions{Time: goldenTime})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	flags := &fakeFlags{}
	e := Efivarfs{Root: root, Flags: flags}
	if err := Enroll(e, writes, false); err == nil {
		t.Error("no SetupMode variable: enrolled anyway")
	}
	writeVar(t, root, efivar.SetupMode, []byte{0})
	if err := Enroll(e, writes, false); !errors.Is(err, ErrNotSetupMode) {
		t.Errorf("user mode: %v", err)
	}
	if err := Enroll(e, writes, true); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Errorf("unsigned writes: %v", err)
	}
	if err := Sign(writes, set); err != nil {
		t.Fatal(err)
	}
	writeVar(t, root, efivar.SetupMode, []byte{1})
	writeVar(t, root, efivar.DB, []byte("old db")) // an existing, immutable variable
	if err := Enroll(e, writes, false); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		got := readFile(t, filepath.Join(root, w.Variable.EfivarfsName()))
		if !bytes.Equal(got, w.Variable.EfivarfsContent(w.Auth)) {
			t.Errorf("%s: file content differs", w.Variable.Name)
		}
	}
	if len(flags.cleared) != 1 || flags.cleared[0] != efivar.DB.EfivarfsName() {
		t.Errorf("cleared immutable flag of %v, want db only", flags.cleared)
	}
	// What firmware returns once it accepted them: the data alone.
	for _, w := range writes {
		writeVar(t, root, w.Variable, w.Data)
	}
	st, err := ReadStatus(e)
	if err != nil {
		t.Fatal(err)
	}
	if st.SecureBoot != -1 || st.SetupMode != 1 || len(st.Enrolled) != 4 {
		t.Fatalf("status %+v", st)
	}
	for _, v := range st.Enrolled[:3] {
		if v.Err != nil || len(v.Entries) != 1 || !strings.Contains(v.Entries[0].Subject, set.DB.Cert.Subject.CommonName) {
			t.Errorf("%s: %+v", v.Name, v)
		}
	}
	if st.Enrolled[3].Name != "dbx" || len(st.Enrolled[3].Entries) != 0 {
		t.Errorf("dbx %+v", st.Enrolled[3])
	}
}

// TestIoctlFlags runs the real ioctls on a file of the test's filesystem,
// which may have no inode flags at all (then nothing is immutable).
func TestIoctlFlags(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if imm, err := (ioctlFlags{}).Immutable(f); err != nil || imm {
		t.Errorf("new file: immutable %v, %v", imm, err)
	}
}

func TestEnrollOVMF(t *testing.T) {
	peer.File(t, "/usr/share/OVMF/OVMF_VARS_4M.fd")
	s, err := ovmfvars.Open("/usr/share/OVMF/OVMF_VARS_4M.fd")
	if err != nil {
		t.Fatal(err)
	}
	set := goldenSet(t)
	writes, err := Plan(set, PlanOptions{Time: goldenTime})
	if err != nil {
		t.Fatal(err)
	}
	o := OVMFVars{Store: s}
	if err := Enroll(o, writes, false); err != nil {
		t.Fatal(err)
	}
	if err := Enroll(o, writes, false); !errors.Is(err, ErrNotSetupMode) {
		t.Errorf("second enrollment: %v", err)
	}
	if err := o.SetMokList(set.Owner, set.DB.Cert); err != nil {
		t.Fatal(err)
	}
	db, ok := s.Get("db", efivar.DB.GUID)
	if !ok || !bytes.Equal(db.Data, readFile(t, goldenDir+"/db.esl")) || db.Attributes != efivar.DB.Attributes {
		t.Errorf("db in store: %+v", db)
	}
	if ts, _ := efivar.EFITime(goldenTime); db.TimeStamp != ts {
		t.Errorf("db timestamp % x", db.TimeStamp)
	}
}

func TestPlanExtraDB(t *testing.T) {
	set := goldenSet(t)
	dir := t.TempDir()
	other, err := sbkeys.Create(dir, sbkeys.CreateOptions{Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	writes, err := Plan(set, PlanOptions{Time: goldenTime, ExtraDB: []*x509.Certificate{other.PK.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	db := writes[0].Lists
	if len(db) != 2 || !bytes.Equal(db[1].Signatures[0].Data, other.PK.Cert.Raw) || db[1].Signatures[0].Owner != set.Owner {
		t.Errorf("db lists %+v", db)
	}
}

// A write the target does not take is ErrWriteFailed, and stops there:
// here db's file cannot be opened for writing (a directory in its place).
func TestEnrollWriteFailed(t *testing.T) {
	set := goldenSet(t)
	writes := signedPlan(t, set)
	root := t.TempDir()
	writeVar(t, root, efivar.SetupMode, []byte{1})
	if err := os.Mkdir(filepath.Join(root, efivar.DB.EfivarfsName()), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Enroll(Efivarfs{Root: root, Flags: &fakeFlags{}}, writes, false)
	if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), "db") {
		t.Errorf("error %v, want ErrWriteFailed for db", err)
	}
	if _, err := os.Stat(filepath.Join(root, efivar.PK.EfivarfsName())); err == nil {
		t.Error("PK written after db failed")
	}
}
