package tpmkey

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
)

// openTPM starts a fresh swtpm (the peer: a real TPM 2.0 implementation)
// and connects to it.
func openTPM(t *testing.T) transport.TPM {
	t.Helper()
	peer.Tool(t, swtpm.Program)
	ctx, cancel := context.WithCancel(context.Background())
	e, err := swtpm.Start(ctx, t.TempDir())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tpm, err := e.Open()
	if err != nil {
		e.Close()
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close(); e.Close(); cancel() })
	return tpm
}

func TestCreateSignEachHash(t *testing.T) {
	tpm := openTPM(t)
	for _, alg := range []Algorithm{RSA2048, ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			b, err := Create(tpm, alg)
			if err != nil {
				t.Fatal(err)
			}
			pemBytes, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseBlob(pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			s, err := LoadBlob(tpm, again)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
				d := digest(h, "payload")
				sig, err := s.Sign(rand.Reader, d, h)
				if err != nil {
					t.Fatalf("%v: %v", h, err)
				}
				if err := verify(s.Public(), h, d, sig, false); err != nil {
					t.Fatalf("%v: %v", h, err)
				}
			}
			if alg == RSA2048 {
				d := digest(crypto.SHA256, "pss")
				sig, err := s.Sign(rand.Reader, d, &rsa.PSSOptions{Hash: crypto.SHA256})
				if err != nil {
					t.Fatal(err)
				}
				if err := verify(s.Public(), crypto.SHA256, d, sig, true); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Sign(rand.Reader, []byte("short"), crypto.SHA256); err == nil {
				t.Fatal("a digest of the wrong size was signed")
			}
		})
	}
}

func TestPersistentHandle(t *testing.T) {
	tpm := openTPM(t)
	b, err := Create(tpm, RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	const h = 0x81000101
	if err := Persist(tpm, b, h); err != nil {
		t.Fatal(err)
	}
	s, err := OpenHandle(tpm, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want, _ := b.PublicKey()
	if !s.Public().(*rsa.PublicKey).Equal(want) {
		t.Fatal("persistent key is not the blob's")
	}
	d := digest(crypto.SHA256, "x")
	sig, err := s.Sign(nil, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(want.(*rsa.PublicKey), crypto.SHA256, d, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenHandle(tpm, 0x81000102); err == nil {
		t.Fatal("an empty handle opened")
	}
	if _, err := OpenHandle(tpm, 0x80000000); err == nil {
		t.Fatal("a transient handle opened")
	}
}

// TestBlobFromAnotherTPM: a blob only loads in the TPM that made it.
func TestBlobFromAnotherTPM(t *testing.T) {
	b, err := Create(openTPM(t), ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBlob(openTPM(t), b); err == nil {
		t.Fatal("a blob of another TPM loaded")
	}
}

func TestParseBlobErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not pem":   []byte("hello"),
		"other pem": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"garbage":   []byte("-----BEGIN TSS2 PRIVATE KEY-----\nAAAA\n-----END TSS2 PRIVATE KEY-----\n"),
		"huge":      make([]byte, MaxBlob+1),
	} {
		if _, err := ParseBlob(data); !errors.Is(err, ErrMalformedBlob) {
			t.Errorf("%s: %v, want ErrMalformedBlob", name, err)
		}
	}
}

func TestCreateUnknownAlgorithm(t *testing.T) {
	if _, err := Create(nil, "rsa1024"); !errors.Is(err, ErrAlgorithm) {
		t.Fatal(err)
	}
}

// TestWriteSeeds regenerates testdata/fuzz/FuzzParseBlob from swtpm when
// TPMKEY_WRITE_SEEDS=1 (the seeds' recipe).
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("TPMKEY_WRITE_SEEDS") != "1" {
		t.Skip("set TPMKEY_WRITE_SEEDS=1 to regenerate the fuzz seeds")
	}
	tpm := openTPM(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzParseBlob")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []Algorithm{RSA2048, ECDSAP256} {
		b, err := Create(tpm, alg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		seed := "go test fuzz v1\n[]byte(" + quote(p) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "swtpm-"+string(alg)), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func digest(h crypto.Hash, s string) []byte {
	switch h {
	case crypto.SHA1:
		d := sha1.Sum([]byte(s))
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(s))
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512([]byte(s))
		return d[:]
	}
	d := sha256.Sum256([]byte(s))
	return d[:]
}
