package ovmfvars

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// Debian's ovmf package: stores without keys, with Microsoft's and
// Debian's keys enrolled, and the 2 MiB firmware's smaller store.
var stockStores = []string{
	"/usr/share/OVMF/OVMF_VARS_4M.fd",
	"/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
	"/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd",
	"/usr/share/OVMF/OVMF_VARS.fd",
	"/usr/share/OVMF/OVMF_VARS.ms.fd",
}

// virtFwVars runs the peer (python3-virt-firmware) with args.
func virtFwVars(t *testing.T, args ...string) {
	t.Helper()
	tool := peer.Tool(t, "virt-fw-vars")
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("virt-fw-vars %v: %v\n%s", args, err, out)
	}
}

// peerView is how virt-fw-vars --output-json shows a variable, in our
// terms: attributes in decimal, data and a time-based variable's
// timestamp in hex.
type peerView struct {
	Name string `json:"name"`
	GUID string `json:"guid"`
	Attr any    `json:"attr"`
	Data string `json:"data"`
	Time string `json:"time,omitempty"`
}

func (p peerView) String() string {
	return fmt.Sprintf("%s-%s attr %v time %q data %d bytes", p.Name, p.GUID, p.Attr, p.Time, len(p.Data)/2)
}

// peerVariables is what virt-fw-vars reads from the store at path.
func peerVariables(t *testing.T, path string) map[string]peerView {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vars.json")
	virtFwVars(t, "-i", path, "--output-json", out)
	var doc struct {
		Variables []peerView `json:"variables"`
	}
	if err := json.Unmarshal(read(t, out), &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]peerView{}
	for _, v := range doc.Variables {
		v.Attr = fmt.Sprint(v.Attr) // a string or a number, depending on the variable
		m[v.GUID+":"+v.Name] = v
	}
	return m
}

func ourView(v Variable) peerView {
	p := peerView{Name: v.Name, GUID: v.GUID.String(), Attr: strconv.FormatUint(uint64(v.Attributes), 10), Data: hex.EncodeToString(v.Data)}
	if v.Attributes&efivar.EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS != 0 && v.TimeStamp != ([16]byte{}) {
		p.Time = hex.EncodeToString(v.TimeStamp[:])
	}
	return p
}

// sameAsPeer checks that we and virt-fw-vars see the same variables in
// the store at path.
func sameAsPeer(t *testing.T, path string, s *Store) {
	t.Helper()
	want := peerVariables(t, path)
	got := s.Variables()
	if len(got) != len(want) {
		t.Errorf("%s: %d variables, virt-fw-vars reads %d", path, len(got), len(want))
	}
	for _, v := range got {
		p, ok := want[v.key()]
		if !ok {
			t.Errorf("%s: %s-%s: virt-fw-vars does not see it", path, v.Name, v.GUID)
			continue
		}
		if o := ourView(v); o != p {
			t.Errorf("%s: we read %v\nvirt-fw-vars reads %v", path, o, p)
		}
	}
}

// TestReadStockStores reads Debian's OVMF stores as virt-fw-vars does.
func TestReadStockStores(t *testing.T) {
	for _, path := range stockStores {
		peer.File(t, path)
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sameAsPeer(t, path, s)
		if _, ok := s.Get("PK", efivar.EFI_GLOBAL_VARIABLE); strings.Contains(path, ".ms.") && !ok {
			t.Errorf("%s: no PK", path)
		}
	}
}

// TestReadWhatPeerWrites reads stores virt-fw-vars changed: keys enrolled
// (its Red Hat set with Microsoft's), shim's variables, a deletion. It
// writes stores compacted and sorted by name, so our compacted rewrite
// of its output must be the very same bytes.
func TestReadWhatPeerWrites(t *testing.T) {
	src := peer.File(t, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.fd")
	write(t, in, src)
	mok := testcert.New(t, testcert.Template{Name: "mok", Kind: testcert.RSA2048, Dir: dir})
	owner := "11111111-2222-3333-4444-555555555555"
	cases := map[string][]string{
		"enroll-redhat": {"--enroll-redhat"},
		"shim":          {"--set-shim-verbose", "--add-mok", owner, mok.CertPath},
		"delete":        {"-d", "Attempt 3", "-d", "Boot0002"},
	}
	for name, args := range cases {
		out := filepath.Join(dir, name+".fd")
		virtFwVars(t, append([]string{"-i", in, "-o", out}, args...)...)
		s, err := Open(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameAsPeer(t, out, s)
		b, err := s.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, read(t, out)) {
			t.Errorf("%s: our rewrite of virt-fw-vars' store differs from it", name)
		}
	}
}

// TestPeerReadsWhatWeWrite changes a stock store through every kind of
// write and has virt-fw-vars read the result; MokList and SHIM_VERBOSE
// must also be the bytes virt-fw-vars itself writes for them.
func TestPeerReadsWhatWeWrite(t *testing.T) {
	const src = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
	peer.File(t, src)
	dir := t.TempDir()
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := efivar.ParseGUID("11111111-2222-3333-4444-555555555555")
	mok1 := testcert.New(t, testcert.Template{Name: "mok1", Kind: testcert.RSA2048, Dir: dir})
	mok2 := testcert.New(t, testcert.Template{Name: "mok2", Kind: testcert.RSA4096, Dir: dir})
	pk := testcert.New(t, testcert.Template{Name: "pk", Kind: testcert.RSA2048, Dir: dir})
	esl, err := efivar.MarshalSignatureLists(efivar.X509List(owner, pk.Cert.Raw))
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		s.SetShimVerbose,
		func() error { return s.SetMokList(owner, mok1.Cert.Raw, mok2.Cert.Raw) },
		func() error { return s.SetAuthenticated(efivar.PK, esl, testTime) },
		func() error { return s.Delete("Attempt 3", mustParseGUID("59324945-ec44-4c0d-b1cd-9db139df070c")) },
		func() error { return s.Set("Grüße", owner, 7, []byte("odd length")) },
		func() error { return s.Set("Timeout", efivar.EFI_GLOBAL_VARIABLE, 7, []byte{5, 0}) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	out := filepath.Join(dir, "ours.fd")
	if err := s.WriteFile(out); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Size() != int64(len(read(t, src))) {
		t.Errorf("size changed: %d", fi.Size())
	}
	sameAsPeer(t, out, s)
	again, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again.Variables()) != fmt.Sprint(s.Variables()) {
		t.Error("reading our own store back gives other variables")
	}

	theirs := filepath.Join(dir, "theirs.fd")
	virtFwVars(t, "-i", src, "-o", theirs, "--set-shim-verbose",
		"--add-mok", owner.String(), mok1.CertPath, "--add-mok", owner.String(), mok2.CertPath)
	want := peerVariables(t, theirs)
	for _, name := range []string{"MokList", "SHIM_VERBOSE"} {
		v, ok := s.Get(name, SHIM_LOCK_GUID)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if got, w := ourView(v), want[SHIM_LOCK_GUID.String()+":"+name]; got != w {
			t.Errorf("%s: ours %v\nvirt-fw-vars' %v", name, got, w)
		}
	}
}
