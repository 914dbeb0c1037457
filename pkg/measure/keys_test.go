package measure

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

func TestLoadKeys(t *testing.T) {
	a := newTestKey(t)
	b := newTestKey(t)
	dir := t.TempDir()
	ec := testcert.NewKey(t, testcert.P256).(*ecdsa.PrivateKey)
	ecPriv := filepath.Join(dir, "ec.pem")
	testcert.WriteKey(t, ecPriv, ec)
	pder, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPub := filepath.Join(dir, "ecpub.pem")
	os.WriteFile(ecPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	store := t.TempDir()
	old := keys.StoreDirs
	keys.StoreDirs = []string{store}
	defer func() { keys.StoreDirs = old }()
	inStore := filepath.Join(store, "key.pem")
	data, _ := os.ReadFile(a.privPEM)
	os.WriteFile(inStore, data, 0o600)

	for _, tc := range []struct {
		name, priv, pub string
		err             error
	}{
		{"derived public key", a.privPEM, "", nil},
		{"matching public key", a.privPEM, a.pubPEM, nil},
		{"other public key", a.privPEM, b.pubPEM, ErrKeyMismatch},
		{"ecdsa private key", ecPriv, "", ErrNotRSA},
		{"ecdsa public key", a.privPEM, ecPub, ErrNotRSA},
		{"key in the store", inStore, "", keys.ErrInStore},
	} {
		priv, pub, _, err := LoadKeys(tc.priv, tc.pub)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: multi-line error", tc.name)
			}
			continue
		}
		if !keys.MatchesPublic(priv, pub) {
			t.Errorf("%s: pair does not match", tc.name)
		}
	}
}

func TestSignGroups(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	groups := []KeyGroup{
		{Key: a.priv, Phases: []Phase{"enter-initrd"}},
		{Key: b.priv, Public: &b.priv.PublicKey, Phases: []Phase{"enter-initrd:leave-initrd:sysinit:ready", "enter-initrd"}},
	}
	r, _ := RulesForVersion(252)
	p, err := Predict(r, image{uki.SectionLinux: []byte("k")}.sections(), []Bank{SHA256}, GroupPhases(groups))
	if err != nil {
		t.Fatal(err)
	}
	s, err := SignGroups(p, groups)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Entries(SHA256)); n != 3 {
		t.Errorf("%d entries, want 1 + 2", n)
	}
	for i, g := range groups {
		sub, _ := p.Select(g.Phases)
		if err := s.Covers(sub, g.Key.Public()); err != nil {
			t.Errorf("group %d: %v", i, err)
		}
	}
	if _, err := SignGroups(p, []KeyGroup{{Key: a.priv, Phases: []Phase{"sysinit"}}}); err == nil {
		t.Error("signing a phase outside the prediction worked")
	}
}
