package authenticode

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

const debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// signerOf signs with id's key and certificate, and embeds issuers'
// certificates after it.
func signerOf(id *testcert.Identity, issuers ...*testcert.Identity) *Signer {
	return &Signer{Key: id.Key, Chain: id.Chain(issuers...)}
}

// fileBuf is an in-memory Output.
type fileBuf struct{ b []byte }

func (f *fileBuf) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }
func (f *fileBuf) WriteAt(p []byte, off int64) (int, error) {
	copy(f.b[off:], p)
	return len(p), nil
}

func parse(t *testing.T, img []byte) *pe.File {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func signBytes(t *testing.T, img []byte, s *Signer, keep bool) []byte {
	t.Helper()
	var out fileBuf
	if err := SignImage(&out, parse(t, img), s, keep); err != nil {
		t.Fatal(err)
	}
	return out.b
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
