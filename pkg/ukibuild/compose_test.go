package ukibuild

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/bootcheck"
	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// The Debian 12 stub (systemd-boot-efi) is the real peer: its .sdmagic
// names systemd-stub 252 and its .sbat lists systemd and systemd.debian.
const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// testManifest is a valid manifest of one store path.
const testManifest = "nix-closure-manifest 1\nstore-dir /nix/store\npaths 1\nnar-bytes 328\n" +
	"/nix/store/0cxjpflv8b9lbk9qq3jgix4rlqbwdxkc-b sha256:0000000000000000000000000000000000000000000000000000 328\nend\n"

// testInputs writes a kernel, two initrds and a manifest into dir. The
// kernel is not a real one: composing never runs it.
func testInputs(t *testing.T, dir string) Inputs {
	t.Helper()
	files := map[string]string{
		"vmlinuz":  strings.Repeat("kernel-", 5000),
		"initrd1":  strings.Repeat("initrd-", 3000),
		"initrd2":  "second",
		"manifest": testManifest,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Inputs{
		Stub:            peer.File(t, debianStub),
		Linux:           filepath.Join(dir, "vmlinuz"),
		Initrds:         []string{filepath.Join(dir, "initrd1"), filepath.Join(dir, "initrd2")},
		Cmdline:         []byte("console=ttyS0 quiet"),
		OSRelease:       []byte("ID=nixos\n"),
		Uname:           []byte("6.1.0-test"),
		Sections:        []uki.Section{uki.NewSection(".extra", []byte("extra"))},
		ClosureManifest: filepath.Join(dir, "manifest"),
	}
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func selfSigned(t *testing.T, k *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ukibuild test"},
		NotBefore: time.Unix(1600000000, 0), NotAfter: time.Unix(2600000000, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func composeBytes(t *testing.T, in Inputs) (*UKI, []byte) {
	t.Helper()
	u, err := Compose(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return u, b
}

func section(t *testing.T, img []byte, name string) []byte {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(name)
	if s == nil {
		t.Fatalf("no %s section", name)
	}
	b, err := f.SectionData(s, int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	return b[:s.VirtualSize]
}

// TestReproducible composes the same inputs twice, signed and with PCR
// policies, and expects the same bytes and the same prediction.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	in := testInputs(t, dir)
	key := rsaKey(t, 2048)
	in.SigningKey, in.Certificates = key, []*x509.Certificate{selfSigned(t, key)}
	in.PCR = PCR{Banks: []measure.Bank{measure.SHA256}, Groups: []measure.KeyGroup{{Key: rsaKey(t, 2048)}}}
	u1, b1 := composeBytes(t, in)
	u2, b2 := composeBytes(t, in)
	if !bytes.Equal(b1, b2) {
		t.Fatal("two compositions of the same inputs differ")
	}
	if u1.Prediction == nil || u1.PCRSig == nil {
		t.Fatal("no prediction or .pcrsig")
	}
	for i, v := range u1.Prediction.Values {
		if !bytes.Equal(v.PCR, u2.Prediction.Values[i].PCR) {
			t.Errorf("prediction %d differs", i)
		}
	}
	f, _ := pe.NewFile(bytes.NewReader(b1), int64(len(b1)))
	if _, err := authenticode.VerifyImage(f, in.Certificates, authenticode.Options{}); err != nil {
		t.Errorf("signature: %v", err)
	}
}

// TestPredictionMatchesImage checks the prediction made from the inputs
// against the one read back from the written image, and that .pcrsig
// signs it with the key whose public key went into .pcrpkey.
func TestPredictionMatchesImage(t *testing.T) {
	in := testInputs(t, t.TempDir())
	pcrKey := rsaKey(t, 2048)
	in.PCR = PCR{Groups: []measure.KeyGroup{{Key: pcrKey, Phases: []measure.Phase{"enter-initrd"}}}}
	u, img := composeBytes(t, in)
	f, _ := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	back, err := measure.PredictImage(f, u.Prediction.Banks, u.Prediction.Phases)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Values) != len(u.Prediction.Values) || len(back.Values) != len(measure.AllBanks) {
		t.Fatalf("%d values from the image, %d predicted", len(back.Values), len(u.Prediction.Values))
	}
	for i, v := range back.Values {
		if !bytes.Equal(v.PCR, u.Prediction.Values[i].PCR) {
			t.Errorf("%s %s: image gives %x, inputs gave %x", v.Bank, v.Phase, v.PCR, u.Prediction.Values[i].PCR)
		}
	}
	pem, _ := measure.PublicKeyPEM(pcrKey.Public())
	if got := section(t, img, uki.SectionPCRPKey); !bytes.Equal(got, pem) {
		t.Errorf(".pcrpkey is not the one key's public key")
	}
	if err := u.PCRSig.Covers(u.Prediction, pcrKey.Public()); err != nil {
		t.Error(err)
	}
	rep := measure.CheckImagePCRSig(f, *u.PCRSig, back)
	for _, b := range rep.Banks {
		if b.Valid != 1 || b.Unmatched != 0 {
			t.Errorf("%+v", b)
		}
	}
}

// TestClosureManifest checks the embedding: the manifest's cpio after the
// initrds, its digest as the command line's last parameter.
func TestClosureManifest(t *testing.T) {
	in := testInputs(t, t.TempDir())
	_, img := composeBytes(t, in)
	archive, param, err := bootcheck.InitrdArchive([]byte(testManifest), string(in.Cmdline))
	if err != nil {
		t.Fatal(err)
	}
	initrd := section(t, img, uki.SectionInitrd)
	want := append([]byte(strings.Repeat("initrd-", 3000)+"second"), archive...)
	if !bytes.Equal(initrd, want) {
		t.Errorf(".initrd is not the initrds then the manifest archive")
	}
	line := string(section(t, img, uki.SectionCmdline))
	if params := kcmdline.Parse(line); len(params) != 3 || params[2] != param {
		t.Errorf(".cmdline %q parses as %v", line, params)
	}
	digest := sha256.Sum256([]byte(testManifest))
	if !strings.HasSuffix(line, "nix-closure-verify.digest=sha256:"+hex.EncodeToString(digest[:])) {
		t.Errorf(".cmdline %q", line)
	}
}

func TestComposeRefuses(t *testing.T) {
	dir := t.TempDir()
	base := testInputs(t, dir)
	os.WriteFile(filepath.Join(dir, "bad"), []byte("nix-closure-manifest 2\n"), 0o644)
	other := rsaKey(t, 2048)
	tests := []struct {
		name  string
		mod   func(in *Inputs)
		input string // InputError.Input, "" when it is not one
		want  error
	}{
		{"no kernel", func(in *Inputs) { in.Linux = "" }, "linux", nil},
		{"manifest missing", func(in *Inputs) { in.ClosureManifest = filepath.Join(dir, "nope") }, "closure-manifest", os.ErrNotExist},
		{"manifest a directory", func(in *Inputs) { in.ClosureManifest = dir }, "closure-manifest", nil},
		{"manifest malformed", func(in *Inputs) { in.ClosureManifest = filepath.Join(dir, "bad") }, "closure-manifest", nil},
		{"quote swallows the digest", func(in *Inputs) { in.Cmdline = []byte(`console=ttyS0 foo="bar`) }, "cmdline", kcmdline.ErrQuote},
		{"splash missing", func(in *Inputs) { in.Splash = filepath.Join(dir, "nope") }, "splash", os.ErrNotExist},
		{"key and certificate differ", func(in *Inputs) {
			in.SigningKey, in.Certificates = other, []*x509.Certificate{selfSigned(t, rsaKey(t, 2048))}
		}, "secureboot-private-key", authenticode.ErrKeyMismatch},
		{"PCR key not RSA", func(in *Inputs) { in.PCR.Groups = []measure.KeyGroup{{Key: nil, Public: "not a key"}} }, "pcr-private-key", measure.ErrNotRSA},
		{"stub of unknown version", func(in *Inputs) {
			in.Stub = bytes.Replace(in.Stub, []byte("systemd-stub 252"), []byte("systemd-stub 999"), 1)
			in.PCR.Predict = true
		}, "", measure.ErrUnknownStubVersion},
		{"bad SBAT vendor", func(in *Inputs) { in.SBATVendor = sbat.Vendor{ID: "a.b", Name: "x", URL: "y"} }, "sbat-vendor", sbat.ErrVendor},
		{"extra section named like the stub's", func(in *Inputs) { in.Sections = []uki.Section{uki.NewSection(".text", []byte("x"))} }, "", uki.ErrDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			tc.mod(&in)
			_, err := Compose(in)
			if err == nil {
				t.Fatal("accepted")
			}
			var ie *InputError
			if tc.input != "" && (!errors.As(err, &ie) || ie.Input != tc.input) {
				t.Errorf("error %v does not name input %s", err, tc.input)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
		})
	}
}

// TestSBAT merges the real Debian stub's .sbat with the defaults and a
// --sbat that raises the stub's systemd generation.
func TestSBAT(t *testing.T) {
	in := testInputs(t, t.TempDir())
	in.SBAT = []sbat.Source{{Name: "--sbat", Text: []byte("systemd,2,The systemd Developers,systemd,252,https://systemd.io/\n")}}
	in.SBATVendor = sbat.Vendor{ID: "acme", Name: "ACME", URL: "https://acme.example/"}
	_, img := composeBytes(t, in)
	want := sbat.Header + "\n" +
		"systemd,2,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n" +
		"systemd-stub,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"systemd-stub.acme,1,ACME,systemd,252.39-1~deb12u2,https://acme.example/\n" +
		sbat.UKIEntry + "\n" +
		"uki.acme,1,ACME,uki,1,https://acme.example/\n\x00"
	if got := section(t, img, uki.SectionSBAT); string(got) != want {
		t.Errorf(".sbat:\n%s\nwant\n%s", got, want)
	}

	in.SBAT = []sbat.Source{{Name: "--sbat", Text: []byte("uki,1,UKI,uki,1,https://example.org/\nsystemd-stub,1,x,y,z,https://example.org/\n")}}
	in.SBATVendor = sbat.Vendor{}
	if _, err := Compose(in); err != nil {
		t.Errorf("replacing defaults with the same generation: %v", err)
	}
	in.SBAT = []sbat.Source{{Name: "--sbat", Text: []byte("systemd.debian,1,Debian,systemd,252,https://example.org/\nuki,1,UKI,uki,1,https://example.org/\n")}}
	in.Stub = bytes.Replace(in.Stub, []byte("systemd.debian,1,"), []byte("systemd.debian,2,"), 1)
	if _, err := Compose(in); !errors.Is(err, sbat.ErrLowerGeneration) {
		t.Errorf("lowering the stub's generation: %v, want %v", err, sbat.ErrLowerGeneration)
	}
}
