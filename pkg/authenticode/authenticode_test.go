package authenticode

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"os/exec"
	"strings"
	"testing"

	saferwall "github.com/saferwall/pe"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Our Authenticode hash equals saferwall/pe's Authentihash on the stub,
// the kernel and signed images.
func TestHashMatchesSaferwall(t *testing.T) {
	dir := t.TempDir()
	a := newIdentity(t, dir, "a", nil, false, false)
	stub := peer.File(t, debianStub)
	images := map[string][]byte{"stub": stub, "signed stub": signBytes(t, stub, a.signer(), false)}
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
	a := newIdentity(t, dir, "a", nil, false, false)
	b := newIdentity(t, dir, "b", nil, false, false)
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, a.signer(), false)
	path := writeTemp(t, dir, "signed.efi", signed)

	// Reproducible: same image and key, same bytes.
	if again := signBytes(t, stub, a.signer(), false); !bytes.Equal(again, signed) {
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

	if _, err := VerifyImage(f, []*x509.Certificate{a.cert}); err != nil {
		t.Errorf("our verify: %v", err)
	}
	if _, err := VerifyImage(f, []*x509.Certificate{b.cert}); !errors.Is(err, ErrUntrusted) {
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
	run(true, osslsigncode, "verify", "-in", path, "-CAfile", a.certPath)
	run(false, osslsigncode, "verify", "-in", path, "-CAfile", b.certPath)
	run(true, sbverify, "--cert", a.certPath, path)
	run(false, sbverify, "--cert", b.certPath, path)

	// An image signed by b is rejected by peers trusting a.
	other := writeTemp(t, dir, "other.efi", signBytes(t, stub, b.signer(), false))
	run(false, sbverify, "--cert", a.certPath, other)
	run(false, osslsigncode, "verify", "-in", other, "-CAfile", a.certPath)
}

func TestChainCAToMachine(t *testing.T) {
	sbverify := peer.Tool(t, "sbverify")
	dir := t.TempDir()
	ca := newIdentity(t, dir, "org-ca", nil, true, false)
	leaf := newIdentity(t, dir, "machine", ca, false, false)
	stranger := newIdentity(t, dir, "stranger", nil, true, false)
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, leaf.signer(), false)
	f := parse(t, signed)
	for _, tc := range []struct {
		name  string
		roots []*x509.Certificate
		ok    bool
	}{
		{"CA", []*x509.Certificate{ca.cert}, true},
		{"leaf itself", []*x509.Certificate{leaf.cert}, true},
		{"stranger", []*x509.Certificate{stranger.cert}, false},
	} {
		_, err := VerifyImage(f, tc.roots)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	path := writeTemp(t, dir, "signed.efi", signed)
	if out, err := exec.Command(sbverify, "--cert", ca.certPath, path).CombinedOutput(); err != nil {
		t.Errorf("sbverify --cert CA: %v\n%s", err, out)
	}
}

// A valid signature moved onto another image must fail: the digest it
// carries is not the new image's.
func TestMovedSignatureRejected(t *testing.T) {
	dir := t.TempDir()
	a := newIdentity(t, dir, "a", nil, false, false)
	stub := peer.File(t, debianStub)
	signed := signBytes(t, stub, a.signer(), false)
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
	_, err := VerifyImage(of, []*x509.Certificate{a.cert})
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
	a := newIdentity(t, dir, "a", nil, false, false)
	b := newIdentity(t, dir, "b", nil, false, true) // ECDSA P-256
	stub := peer.File(t, debianStub)
	one := signBytes(t, stub, a.signer(), false)
	two := signBytes(t, one, b.signer(), true)
	f := parse(t, two)
	sigs, err := Signatures(f)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("appended: %d signatures, %v", len(sigs), err)
	}
	for i, s := range sigs {
		if err := s.Verify(f, []*x509.Certificate{a.cert, b.cert}); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}
	// osslsigncode reads only one table entry (it nests further signatures
	// instead); sbverify walks the entries like EDK2 does.
	if out, err := exec.Command(sbverify, "--cert", a.certPath, writeTemp(t, dir, "two.efi", two)).CombinedOutput(); err != nil {
		t.Errorf("sbverify on a doubly signed image: %v\n%s", err, out)
	}
	// ECDSA signatures are deterministic too.
	if again := signBytes(t, one, b.signer(), true); !bytes.Equal(again, two) {
		t.Error("ECDSA signing is not reproducible")
	}
	replaced := signBytes(t, two, b.signer(), false)
	sigs, _ = Signatures(parse(t, replaced))
	if len(sigs) != 1 || sigs[0].Signer.Subject.CommonName != "b" {
		t.Fatalf("replace kept %d signatures", len(sigs))
	}
}

func TestSignerCheck(t *testing.T) {
	dir := t.TempDir()
	a := newIdentity(t, dir, "a", nil, false, false)
	b := newIdentity(t, dir, "b", nil, false, false)
	s := &Signer{Key: a.key, Chain: []*x509.Certificate{b.cert}}
	if err := s.Check(); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
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
