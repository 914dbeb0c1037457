package harness

import (
	"os"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
)

// TestKeys checks that each key pair the harness hands out loads with the
// project's own key loader and that key and certificate belong together.
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		make func() (string, string, error)
		need []string
	}{
		{"snakeoil", func() (string, string, error) { return SnakeoilKey(dir) }, []string{"openssl", SnakeoilEncryptedKey, SnakeoilCert}},
		{"fresh", func() (string, string, error) { return NewSigningKey(dir, "fresh") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NeedTools(t, tt.need...)
			key, cert, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			signer, warnings, err := keys.LoadPrivateKey(key)
			if err != nil || len(warnings) > 0 {
				t.Fatalf("loading %s: %v %v", key, err, warnings)
			}
			certs, err := keys.LoadCertificates(cert)
			if err != nil || len(certs) == 0 {
				t.Fatalf("loading %s: %v", cert, err)
			}
			if !keys.MatchesPublic(signer, certs[0].PublicKey) {
				t.Error("key does not match certificate")
			}
			if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v", fi.Mode().Perm())
			}
		})
	}
}
