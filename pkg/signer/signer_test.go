package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpmkey"
)

// checkSigns signs a digest with s and verifies it with s's public key.
func checkSigns(t *testing.T, s crypto.Signer) {
	t.Helper()
	d := sha256.Sum256([]byte("signed through the seam"))
	sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	switch k := s.Public().(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, d[:], sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	default:
		t.Fatalf("public key %T", k)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db.key")
	testcert.WriteKey(t, p, testcert.NewKey(t, testcert.RSA2048))
	os.Chmod(p, 0o644)
	s, err := Open(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Description() != p || len(s.Warnings()) != 1 {
		t.Fatalf("description %q warnings %q", s.Description(), s.Warnings())
	}
	checkSigns(t, s)
	if _, err := Open(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Fatal("a missing key opened")
	}
	if _, err := Open(context.Background(), "", Options{}); !errors.Is(err, ErrReference) {
		t.Fatal(err)
	}
}

func TestOpenTPM(t *testing.T) {
	peer.Tool(t, swtpm.Program)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := swtpm.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	for _, alg := range []tpmkey.Algorithm{tpmkey.RSA2048, tpmkey.ECDSAP256} {
		tpm, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := tpmkey.Create(tpm, alg)
		if err == nil && alg == tpmkey.RSA2048 {
			err = tpmkey.Persist(tpm, b, 0x81000042)
		}
		tpm.Close() // swtpm serves one client at a time
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, _ := b.Marshal()
		blob := filepath.Join(dir, string(alg)+".tpmkey")
		if err := os.WriteFile(blob, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		refs := []string{"tpm:blob=" + blob + "?swtpm=" + e.Socket}
		if alg == tpmkey.RSA2048 {
			refs = append(refs, "tpm:handle=0x81000042?swtpm="+e.Socket)
		}
		for _, ref := range refs {
			s, err := Open(ctx, ref, Options{})
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			want, _ := b.PublicKey()
			if !keys.MatchesPublic(s, want) {
				t.Fatalf("%s: not the created key", ref)
			}
			if !strings.HasPrefix(s.Description(), "tpm:") {
				t.Fatalf("description %q", s.Description())
			}
			checkSigns(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := Open(ctx, "tpm:blob="+filepath.Join(dir, "missing")+"?swtpm="+e.Socket, Options{}); err == nil {
		t.Fatal("a missing blob opened")
	}
	if _, err := Open(ctx, "tpm:handle=0x81000001?device="+filepath.Join(dir, "no-tpm"), Options{}); err == nil {
		t.Fatal("a missing device opened")
	}
}
