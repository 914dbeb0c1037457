package authenticode

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"os/exec"
	"strings"
	"testing"

	saferwall "github.com/saferwall/pe"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Our Authenticode hash equals saferwall/pe's Authentihash on the stub,
// the kernel and signed images.
func TestHashMatchesSaferwall(t *testing.T) {
	a := testcert.New(t, testcert.Template{Name: "a"})
	stub := peer.File(t, debianStub)
	images := map[string][]byte{"stub": stub, "signed stub": signBytes(t, stub, signerOf(a), false)}
	for name, img := range images {
		f := parse(t, img)
		ours, err := Hash(f, sha256.New())
		if err != nil {
			t.Fatal(err)
		}
		sf, err := saferwall.NewBytes(img, &saferwall.Options{Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := sf.Parse(); err != nil {
			t.Fatal(err)
		}
		if theirs := sf.Authentihash(); !bytes.Equal(ours, theirs) {
			t.Errorf("%s: ours %x, saferwall %x", name, ours, theirs)
		}
	}
}

func TestSignVerifyAgainstPeers(t *testing.T) {
	osslsigncode, sbverify := peer.Tool(t, "osslsigncode"), peer.Tool(t, "sbverify")
	dir := t.TempDir()
	a := testcert.New(t, testcert.Template{Name: "a"})
	b := testcert.New(t, testcert.Template{Name: "b"})
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, signerOf(a), false)
	path := writeTemp(t, dir, "signed.efi", signed)

	// Reproducible: same image and key, same bytes.
	if again := signBytes(t, stub, signerOf(a), false); !bytes.Equal(again, signed) {
		t.Error("signing twice gave different bytes")
	}
	// The CheckSum is right after signing.
	f := parse(t, signed)
	if got := pe.Checksum(signed, int(f.ChecksumOffset())); got != f.CheckSum {
		t.Errorf("CheckSum %#x, want %#x", f.CheckSum, got)
	}
	if d, _ := f.CertificateTable(); d.VirtualAddress%8 != 0 {
		t.Errorf("certificate table at %#x is not 8-aligned", d.VirtualAddress)
	}

	if _, err := VerifyImage(f, []*x509.Certificate{a.Cert}, Options{}); err != nil {
		t.Errorf("our verify: %v", err)
	}
	if _, err := VerifyImage(f, []*x509.Certificate{b.Cert}, Options{}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("our verify with another cert: %v, want ErrUntrusted", err)
	}
	run := func(want bool, name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if (err == nil) != want {
			t.Errorf("%s %s: err=%v, want success=%v\n%s", name, strings.Join(args, " "), err, want, out)
		}
		if want && strings.Contains(string(out), "Calculated PE checksum") {
			t.Errorf("osslsigncode reports a wrong CheckSum:\n%s", out)
		}
	}
	run(true, osslsigncode, "verify", "-in", path, "-CAfile", a.CertPath)
	run(false, osslsigncode, "verify", "-in", path, "-CAfile", b.CertPath)
	run(true, sbverify, "--cert", a.CertPath, path)
	run(false, sbverify, "--cert", b.CertPath, path)

	// An image signed by b is rejected by peers trusting a.
	other := writeTemp(t, dir, "other.efi", signBytes(t, stub, signerOf(b), false))
	run(false, sbverify, "--cert", a.CertPath, other)
	run(false, osslsigncode, "verify", "-in", other, "-CAfile", a.CertPath)
}

func TestChainCAToMachine(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	dir := t.TempDir()
	ca := testcert.New(t, testcert.Template{Name: "org-ca", CA: true})
	leaf := testcert.New(t, testcert.Template{Name: "machine", Issuer: ca})
	stranger := testcert.New(t, testcert.Template{Name: "stranger", CA: true})
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, signerOf(leaf), false)
	f := parse(t, signed)
	for _, tc := range []struct {
		name  string
		roots []*x509.Certificate
		ok    bool
	}{
		{"CA", []*x509.Certificate{ca.Cert}, true},
		{"leaf itself", []*x509.Certificate{leaf.Cert}, true},
		{"stranger", []*x509.Certificate{stranger.Cert}, false},
	} {
		_, err := VerifyImage(f, tc.roots, Options{})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	path := writeTemp(t, dir, "signed.efi", signed)
	if out, err := exec.Command(sbverify, "--cert", ca.CertPath, path).CombinedOutput(); err != nil {
		t.Errorf("sbverify --cert CA: %v\n%s", err, out)
	}
}

// A valid signature moved onto another image must fail: the digest it
// carries is not the new image's.
func TestMovedSignatureRejected(t *testing.T) {
	a := testcert.New(t, testcert.Template{Name: "a"})
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, signerOf(a), false)
	f := parse(t, signed)
	d, _ := f.CertificateTable()
	table := signed[d.VirtualAddress:]

	// Another image: the stub with one byte of .text changed, then the
	// first image's certificate table grafted on.
	other := append([]byte(nil), signed[:d.VirtualAddress]...)
	text := f.Section(".text")
	other[text.PointerToRawData+100] ^= 0xff
	other = append(other, table...)
	of := parse(t, other)
	_, err := VerifyImage(of, []*x509.Certificate{a.Cert}, Options{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("moved signature: %v, want ErrDigestMismatch", err)
	}
	// The PKCS#7 signature itself is still valid: only the digest check
	// catches this.
	sigs, _ := Signatures(of)
	if err := sigs[0].CheckSignature(); err != nil {
		t.Fatalf("PKCS#7 check: %v", err)
	}
}

func TestAppendAndReplace(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	dir := t.TempDir()
	a := testcert.New(t, testcert.Template{Name: "a"})
	b := testcert.New(t, testcert.Template{Name: "b", Kind: testcert.P256}) // ECDSA P-256
	stub := peer.File(t, debianStub)
	one := signBytes(t, stub, signerOf(a), false)
	two := signBytes(t, one, signerOf(b), true)
	f := parse(t, two)
	sigs, err := Signatures(f)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("appended: %d signatures, %v", len(sigs), err)
	}
	for i, s := range sigs {
		if _, err := s.Verify(f, []*x509.Certificate{a.Cert, b.Cert}, Options{}); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}
	// osslsigncode reads only one table entry (it nests further signatures
	// instead); sbverify walks the entries like EDK2 does.
	if out, err := exec.Command(sbverify, "--cert", a.CertPath, writeTemp(t, dir, "two.efi", two)).CombinedOutput(); err != nil {
		t.Errorf("sbverify on a doubly signed image: %v\n%s", err, out)
	}
	// ECDSA signatures are deterministic too.
	if again := signBytes(t, one, signerOf(b), true); !bytes.Equal(again, two) {
		t.Error("ECDSA signing is not reproducible")
	}
	replaced := signBytes(t, two, signerOf(b), false)
	sigs, _ = Signatures(parse(t, replaced))
	if len(sigs) != 1 || sigs[0].Signer.Subject.CommonName != "b" {
		t.Fatalf("replace kept %d signatures", len(sigs))
	}
}

// Check refuses what Verify would refuse, so sign never makes a signature
// its own verify calls legacy.
func TestSignerCheck(t *testing.T) {
	a := testcert.New(t, testcert.Template{Name: "a"})
	b := testcert.New(t, testcert.Template{Name: "b"})
	weakCA := testcert.New(t, testcert.Template{Name: "weak CA", CA: true, Kind: testcert.RSA1024})
	under := testcert.New(t, testcert.Template{Name: "under weak CA", Issuer: weakCA, Key: a.Key})
	usage := func(ku x509.KeyUsage, eku ...x509.ExtKeyUsage) *testcert.Identity {
		return testcert.New(t, testcert.Template{Name: "usage", Key: a.Key, KeyUsage: ku, ExtKeyUsage: eku})
	}
	tests := []struct {
		name string
		s    *Signer
		err  error
	}{
		{"ours", signerOf(a), nil},
		{"mismatched key", &Signer{Key: a.Key, Chain: []*x509.Certificate{b.Cert}}, ErrKeyMismatch},
		{"RSA 1024", signerOf(testcert.New(t, testcert.Template{Name: "weak", Kind: testcert.RSA1024})), ErrUnsupportedKey},
		{"weak intermediate embedded", signerOf(under, weakCA), ErrUnsupportedKey},
		{"no digitalSignature", signerOf(usage(x509.KeyUsageCertSign)), ErrCertificateUsage},
		{"no codeSigning", signerOf(usage(0, x509.ExtKeyUsageServerAuth)), ErrCertificateUsage},
		{"no usage extensions", signerOf(usage(testcert.NoKeyUsage, []x509.ExtKeyUsage{}...)), nil},
	}
	for _, tc := range tests {
		if err := tc.s.Check(); !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestParseCertificateTable(t *testing.T) {
	good := AppendEntry(AppendEntry(nil, []byte{1, 2, 3}), []byte{4})
	le := binary.LittleEndian
	tests := []struct {
		name  string
		table []byte
		n     int
		ok    bool
	}{
		{"two entries", good, 2, true},
		{"empty", nil, 0, true},
		{"short header", []byte{1, 2, 3}, 0, false},
		{"length past end", func() []byte { b := append([]byte(nil), good...); le.PutUint32(b, 999); return b }(), 0, false},
		{"length under header", func() []byte { b := append([]byte(nil), good...); le.PutUint32(b, 4); return b }(), 0, false},
	}
	for _, tc := range tests {
		e, err := ParseCertificateTable(tc.table)
		if (err == nil) != tc.ok || (tc.ok && len(e) != tc.n) {
			t.Errorf("%s: %d entries, %v", tc.name, len(e), err)
		}
	}
}

func TestParseSignatureGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x01}, bytes.Repeat([]byte{0x30, 0x80}, 50)} {
		if _, err := ParseSignature(b); err == nil {
			t.Errorf("%x accepted", b)
		}
	}
}

// Regression (issue 8): a table read from an image may end in a few stray
// zeros (accepted, as sbverify accepts them). --append copied them, so the
// new entry started past the 8-byte boundary where readers look for the
// next one, and the image no longer verified.
func TestAppendAfterStrayZeros(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	dir := t.TempDir()
	a := testcert.New(t, testcert.Template{Name: "a", Dir: dir})
	b := testcert.New(t, testcert.Template{Name: "b", Dir: dir})
	one := signBytes(t, peer.File(t, debianStub), signerOf(a), false)
	// Four zeros after the table, counted in its size.
	padded := append(append([]byte(nil), one...), 0, 0, 0, 0)
	dirOff, _ := parse(t, one).DataDirectoryOffset(pe.IMAGE_DIRECTORY_ENTRY_SECURITY)
	binary.LittleEndian.PutUint32(padded[dirOff+4:], binary.LittleEndian.Uint32(padded[dirOff+4:])+4)
	if _, err := VerifyImage(parse(t, padded), []*x509.Certificate{a.Cert}, Options{}); err != nil {
		t.Fatalf("stray zeros: %v", err)
	}

	two := signBytes(t, padded, signerOf(b), true)
	f := parse(t, two)
	sigs, err := Signatures(f)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("appended: %d signatures, %v", len(sigs), err)
	}
	path := writeTemp(t, dir, "two.efi", two)
	for _, id := range []*testcert.Identity{a, b} {
		if _, err := VerifyImage(f, []*x509.Certificate{id.Cert}, Options{}); err != nil {
			t.Errorf("our verify, trusting %s: %v", id.Cert.Subject, err)
		}
		// osslsigncode reads one table entry only; sbverify walks them.
		if out, err := exec.Command(sbverify, "--cert", id.CertPath, path).CombinedOutput(); err != nil {
			t.Errorf("sbverify --cert %s: %v\n%s", id.Cert.Subject, err, out)
		}
	}
	// osslsigncode takes one entry per image: each entry, alone in the
	// table, is a signature it verifies.
	osslsigncode := peer.Tool(t, "osslsigncode")
	entries, _ := ReadCertificateTable(f)
	d, _ := f.CertificateTable()
	dirOff, _ = f.DataDirectoryOffset(pe.IMAGE_DIRECTORY_ENTRY_SECURITY)
	for i, id := range []*testcert.Identity{a, b} {
		table := MarshalCertificateTable(entries[i : i+1])
		alone := append(append([]byte(nil), two[:d.VirtualAddress]...), table...)
		binary.LittleEndian.PutUint32(alone[dirOff+4:], uint32(len(table)))
		path := writeTemp(t, dir, "alone.efi", alone)
		if out, err := exec.Command(osslsigncode, "verify", "-CAfile", id.CertPath, "-in", path).CombinedOutput(); err != nil {
			t.Errorf("osslsigncode, entry %d alone: %v\n%s", i+1, err, out)
		}
	}
	// The same bytes as appending to the image without the stray zeros.
	if want := signBytes(t, one, signerOf(b), true); !bytes.Equal(two, want) {
		t.Error("stray zeros changed the appended image")
	}
}

func TestMarshalCertificateTable(t *testing.T) {
	entries := []Entry{
		{Revision: WIN_CERT_REVISION_2_0, Type: WIN_CERT_TYPE_PKCS_SIGNED_DATA, Data: []byte{1, 2, 3}},
		{Revision: 0x0100, Type: 0x0001, Data: make([]byte, 8)},
	}
	table := MarshalCertificateTable(entries)
	if len(table) != 16+16 {
		t.Fatalf("%d bytes, want 32 (each entry padded to 8)", len(table))
	}
	got, err := ParseCertificateTable(append(table, 0, 0, 0))
	if err != nil || len(got) != 2 || got[1].Type != 1 || !bytes.Equal(got[0].Data, entries[0].Data) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if again := MarshalCertificateTable(got); !bytes.Equal(again, table) {
		t.Error("stray zeros survived a round trip")
	}
}
