package uki

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/pe"
	"encoding/pem"
	"errors"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	saferwall "github.com/saferwall/pe"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	ourpe "github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbat"
)

const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

func need(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		peer.Missing(t, "%v", err)
	}
}

func kernelPath(t *testing.T) string {
	m, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(m) == 0 {
		need(t, errors.New("no kernel in /boot"))
	}
	return m[0]
}

// inputs copies the stub, kernel and an initrd into dir and returns options
// naming the copies.
func inputs(t *testing.T, dir string) Options {
	t.Helper()
	stub, err := os.ReadFile(debianStub)
	need(t, err)
	kernel, err := os.ReadFile(kernelPath(t))
	need(t, err)
	os.WriteFile(filepath.Join(dir, "vmlinuz"), kernel, 0o644)
	initrd := bytes.Repeat([]byte("initrd-data-"), 100000)
	os.WriteFile(filepath.Join(dir, "initrd1"), initrd, 0o644)
	os.WriteFile(filepath.Join(dir, "initrd2"), []byte("second"), 0o644)
	return Options{
		Stub:    stub,
		Linux:   filepath.Join(dir, "vmlinuz"),
		Initrds: []string{filepath.Join(dir, "initrd1"), filepath.Join(dir, "initrd2")},
		Sections: []Section{
			NewSection(SectionOSRel, []byte("ID=nixos\n")),
			NewSection(SectionCmdline, []byte("console=ttyS0 quiet")),
			NewSection(SectionUname, []byte("6.1.0-test")),
		},
	}
}

type signerFiles struct {
	signer   *authenticode.Signer
	certPath string
}

func testSigner(t *testing.T, dir string) signerFiles {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "uki test"},
		NotBefore: time.Unix(1600000000, 0), NotAfter: time.Unix(2600000000, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	p := filepath.Join(dir, "db.crt")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return signerFiles{&authenticode.Signer{Key: key, Chain: []*x509.Certificate{cert}}, p}
}

func build(t *testing.T, o Options, s *authenticode.Signer, out string) []byte {
	t.Helper()
	spec, err := NewSpec(o)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := spec.Write(f, s)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	img, _ := os.ReadFile(out)
	// The digest computed while streaming is the file's Authenticode hash.
	pf, err := ourpe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := authenticode.Hash(pf, sha256.New()); err != nil || !bytes.Equal(h, digest) {
		t.Fatalf("streamed digest %x, file hash %x (%v)", digest, h, err)
	}
	return img
}

func TestBuildReproducibleAndParsable(t *testing.T) {
	sf := testSigner(t, t.TempDir())
	for _, signed := range []bool{false, true} {
		var signer *authenticode.Signer
		if signed {
			signer = sf.signer
		}
		d1, d2 := t.TempDir(), t.TempDir()
		img1 := build(t, inputs(t, d1), signer, filepath.Join(d1, "uki.efi"))
		img2 := build(t, inputs(t, d2), signer, filepath.Join(d2, "uki.efi"))
		if !bytes.Equal(img1, img2) {
			t.Fatalf("signed=%v: builds in two directories differ", signed)
		}

		gf, err := pe.NewFile(bytes.NewReader(img1))
		if err != nil {
			t.Fatalf("debug/pe: %v", err)
		}
		var names []string
		for _, s := range gf.Sections {
			names = append(names, s.Name)
		}
		want := ".text .reloc .data .dynamic .rela .dynsym .sdmagic .linux .osrel .cmdline .initrd .uname .sbat"
		if got := strings.Join(names, " "); got != want {
			t.Errorf("sections %q, want %q", got, want)
		}
		initrd, _ := gf.Section(".initrd").Data()
		wantInitrd := append(bytes.Repeat([]byte("initrd-data-"), 100000), "second"...)
		if gf.Section(".initrd").VirtualSize != uint32(len(wantInitrd)) || !bytes.Equal(initrd[:len(wantInitrd)], wantInitrd) {
			t.Error(".initrd is not the concatenation of the initrds")
		}
		if c := gf.Section(".linux").Characteristics; c != flagsLinux {
			t.Errorf(".linux flags %#x", c)
		}
		if c := gf.Section(".cmdline").Characteristics; c != flagsData {
			t.Errorf(".cmdline flags %#x", c)
		}
		oh := gf.OptionalHeader.(*pe.OptionalHeader64)
		if got := ourpe.Checksum(img1, checksumOffset(img1)); got != oh.CheckSum {
			t.Errorf("CheckSum %#x, want %#x", oh.CheckSum, got)
		}

		sp, err := saferwall.NewBytes(img1, &saferwall.Options{Fast: true})
		if err != nil || sp.Parse() != nil {
			t.Fatalf("saferwall: %v", err)
		}
		pf, _ := ourpe.NewFile(bytes.NewReader(img1), int64(len(img1)))
		ours, _ := authenticode.Hash(pf, sha256.New())
		if !bytes.Equal(sp.Authentihash(), ours) {
			t.Errorf("saferwall Authentihash %x, ours %x", sp.Authentihash(), ours)
		}

		path := filepath.Join(d1, "uki.efi")
		if out, err := exec.Command(peer.Tool(t, "objdump"), "-h", path).CombinedOutput(); err != nil || !strings.Contains(string(out), ".initrd") {
			t.Errorf("objdump -h: %v\n%s", err, out)
		}
		if signed {
			for _, cmd := range [][]string{
				{peer.Tool(t, "sbverify"), "--cert", sf.certPath, path},
				{peer.Tool(t, "osslsigncode"), "verify", "-in", path, "-CAfile", sf.certPath},
			} {
				if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
					t.Errorf("%s: %v\n%s", cmd[0], err, out)
				}
			}
		}
	}
}

func checksumOffset(img []byte) int {
	return int(uint32(img[0x3c])|uint32(img[0x3d])<<8|uint32(img[0x3e])<<16|uint32(img[0x3f])<<24) + 4 + 20 + 64
}

func TestSpec(t *testing.T) {
	o := inputs(t, t.TempDir())
	o.SBAT = []sbat.Source{{Name: "mine", Text: []byte("nixos,1,NixOS,nixos,24.05,https://nixos.org\n")}}
	spec, err := NewSpec(o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range spec.Ordered() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != ".linux .osrel .cmdline .initrd .uname .sbat" {
		t.Errorf("Ordered: %s", got)
	}
	if v := spec.StubInfo(); !v.IsStub() || v.Major() != 252 {
		t.Errorf("StubVersion %q", v)
	}
	sb, _ := spec.Section(SectionSBAT)
	text, _ := sb.Bytes()
	if !strings.HasPrefix(string(text), sbat.Header+"\nsystemd,1,") || !strings.HasSuffix(string(text), "nixos,1,NixOS,nixos,24.05,https://nixos.org\n\x00") || strings.Contains(string(text), "\nsbat,") {
		t.Errorf("merged SBAT:\n%s", text)
	}
	if err := spec.Add(NewSection(".pcrsig", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, s := range spec.Ordered() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != ".linux .osrel .cmdline .initrd .uname .sbat .pcrsig" {
		t.Errorf("Ordered after .pcrsig: %s", got)
	}
}

func TestSpecRejects(t *testing.T) {
	dir := t.TempDir()
	base := inputs(t, dir)
	sf := testSigner(t, dir)
	var signedStub bytes.Buffer
	stubFile, _ := ourpe.NewFile(bytes.NewReader(base.Stub), int64(len(base.Stub)))
	out := &memOut{}
	if err := authenticode.SignImage(out, stubFile, sf.signer, false); err != nil {
		t.Fatal(err)
	}
	signedStub.Write(out.b)

	tests := []struct {
		name string
		mod  func(o *Options)
		want error
	}{
		{"signed stub", func(o *Options) { o.Stub = signedStub.Bytes() }, ErrSignedStub},
		{"long name", func(o *Options) { o.Sections = append(o.Sections, NewSection(".waytoolong", []byte("x"))) }, ourpe.ErrSectionName},
		{"duplicate", func(o *Options) { o.Sections = append(o.Sections, NewSection(SectionCmdline, []byte("x"))) }, ErrDuplicate},
		{"stub's own section", func(o *Options) { o.Sections = append(o.Sections, NewSection(".text", []byte("x"))) }, ErrDuplicate},
		{"bad sbat", func(o *Options) { o.SBAT = []sbat.Source{{Name: "x", Text: []byte("a,1,b,c")}} }, sbat.ErrMalformed},
		{"missing initrd", func(o *Options) { o.Initrds = []string{filepath.Join(dir, "nope")} }, os.ErrNotExist},
		{"truncated stub", func(o *Options) { o.Stub = o.Stub[:1000] }, ourpe.ErrTruncated},
	}
	for _, tc := range tests {
		o := base
		o.Sections = append([]Section(nil), base.Sections...)
		tc.mod(&o)
		if _, err := NewSpec(o); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

type memOut struct{ b []byte }

func (m *memOut) Write(p []byte) (int, error)              { m.b = append(m.b, p...); return len(p), nil }
func (m *memOut) WriteAt(p []byte, off int64) (int, error) { copy(m.b[off:], p); return len(p), nil }

func TestKernelRelease(t *testing.T) {
	k := kernelPath(t)
	r, err := KernelRelease(k)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(k, "vmlinuz-"+r) {
		t.Errorf("release %q for %s", r, k)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	img := build(t, inputs(t, dir), testSigner(t, dir).signer, filepath.Join(dir, "uki.efi"))
	f, _ := ourpe.NewFile(bytes.NewReader(img), int64(len(img)))
	info, err := Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	if !info.UKI || info.Cmdline != "console=ttyS0 quiet" || info.Uname != "6.1.0-test" || len(info.Signatures) != 1 || !info.Signatures[0].DigestMatches {
		t.Errorf("%+v", info)
	}
	want := sha256.Sum256([]byte("ID=nixos\n"))
	for _, s := range info.Sections {
		if s.Name == ".osrel" && s.SHA256 != string(hexOf(want[:])) {
			t.Errorf(".osrel sha256 %s", s.SHA256)
		}
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

func TestParseSDMagic(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  StubInfo
		major int
		err   error
	}{
		{"#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####\x00\x00", StubInfo{"systemd-stub", "252.39-1~deb12u2"}, 252, nil},
		{"#### LoaderInfo: systemd-boot 257~rc2 ####", StubInfo{"systemd-boot", "257~rc2"}, 257, nil},
		{"#### LoaderInfo: systemd-stub v252 ####", StubInfo{"systemd-stub", "v252"}, 0, nil},
		{"#### LoaderInfo: systemd-stub  ####", StubInfo{}, 0, ErrNoLoaderInfo},
		{"#### LoaderInfo: systemd-stub 252 extra ####", StubInfo{}, 0, ErrNoLoaderInfo},
		{"LoaderInfo: systemd-stub 252", StubInfo{}, 0, ErrNoLoaderInfo},
		{"garbage", StubInfo{}, 0, ErrNoLoaderInfo},
		{"", StubInfo{}, 0, ErrNoLoaderInfo},
	} {
		got, err := ParseSDMagic([]byte(tc.in))
		if !errors.Is(err, tc.err) || got != tc.want || got.Major() != tc.major {
			t.Errorf("ParseSDMagic(%q) = %+v (major %d), %v; want %+v (major %d), %v", tc.in, got, got.Major(), err, tc.want, tc.major, tc.err)
		}
	}
}
