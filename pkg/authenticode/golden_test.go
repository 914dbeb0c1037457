package authenticode

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

// TestHashGolden pins the Authenticode digests of a tiny PE image to those
// osslsigncode computed (testdata/golden/recipe.sh regenerates both with
// the peers), so the hash is checked byte for byte without them.
func TestHashGolden(t *testing.T) {
	img, err := os.ReadFile("testdata/golden/tiny.efi")
	if err != nil {
		t.Fatal(err)
	}
	digests, err := os.ReadFile("testdata/golden/tiny.efi.digests")
	if err != nil {
		t.Fatal(err)
	}
	algs := map[string]crypto.Hash{"sha1": crypto.SHA1, "sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}
	want := map[crypto.Hash][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(digests))
	for sc.Scan() {
		name, hexDigest, _ := strings.Cut(sc.Text(), " ")
		d, err := hex.DecodeString(hexDigest)
		if alg, ok := algs[name]; !ok || err != nil || len(d) != alg.Size() {
			t.Fatalf("tiny.efi.digests: bad line %q", sc.Text())
		}
		want[algs[name]] = d
	}
	if len(want) != len(algs) {
		t.Fatalf("tiny.efi.digests has %d digests, want %d", len(want), len(algs))
	}
	// Signing adds no padding to this 8-aligned image and the table is not
	// hashed: the signed image has the same digests.
	signed := signBytes(t, img, signerOf(testcert.New(t, testcert.Template{Name: "golden", Kind: testcert.P256})), false)
	for name, b := range map[string][]byte{"tiny.efi": img, "tiny.efi signed": signed} {
		f := parse(t, b)
		for alg, d := range want {
			got, err := Hash(f, alg.New())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, d) {
				t.Errorf("%s %v: %x, osslsigncode %x", name, alg, got, d)
			}
		}
	}
}

// The golden digest is still what the peer computes: efitools'
// hash-to-efi-sig-list prints the Authenticode SHA-256 it hashes.
func TestHashGoldenPeer(t *testing.T) {
	tool := peer.Tool(t, "hash-to-efi-sig-list")
	out, err := exec.Command(tool, "testdata/golden/tiny.efi", filepath.Join(t.TempDir(), "hash.esl")).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	digests, err := os.ReadFile("testdata/golden/tiny.efi.digests")
	if err != nil {
		t.Fatal(err)
	}
	_, theirs, _ := strings.Cut(strings.TrimSpace(string(out)), "HASH IS ")
	if !strings.Contains(string(digests), "sha256 "+theirs+"\n") {
		t.Errorf("hash-to-efi-sig-list says %q; tiny.efi.digests:\n%s", theirs, digests)
	}
}
