package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
)

func writeKey(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	priv = filepath.Join(dir, name+".pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub = filepath.Join(dir, name+".pub")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	return priv, pub
}

// TestKeyGroups checks how ordered --pcr-private-key, --pcr-public-key
// and --phases make key groups.
func TestKeyGroups(t *testing.T) {
	dir := t.TempDir()
	k1, p1 := writeKey(t, dir, "k1")
	k2, p2 := writeKey(t, dir, "k2")
	defaults := measure.DefaultPhases()
	tests := []struct {
		name   string
		args   []string
		groups [][]measure.Phase // phases per group
		phases []measure.Phase   // predicted
		err    string
	}{
		{name: "no key, defaults", phases: defaults},
		{name: "no key, phases", args: []string{"--phases", ":,sysinit"}, phases: []measure.Phase{"", "sysinit"}},
		{name: "one key", args: []string{"--pcr-private-key", k1}, groups: [][]measure.Phase{defaults}, phases: defaults},
		{name: "one key with public key and phases", args: []string{"--pcr-private-key", k1, "--phases", "enter-initrd", "--pcr-public-key", p1},
			groups: [][]measure.Phase{{"enter-initrd"}}, phases: []measure.Phase{"enter-initrd"}},
		{name: "two groups", args: []string{"--pcr-private-key", k1, "--phases", "sysinit", "--pcr-private-key", k2, "--pcr-public-key", p2, "--phases", "enter-initrd", "--phases", "ready"},
			groups: [][]measure.Phase{{"sysinit"}, {"enter-initrd", "ready"}}, phases: []measure.Phase{"enter-initrd", "ready", "sysinit"}},
		{name: "phases before key", args: []string{"--phases", "sysinit", "--pcr-private-key", k1}, err: "comes before any --pcr-private-key"},
		{name: "public key before key", args: []string{"--pcr-public-key", p1, "--pcr-private-key", k1}, err: "comes before any --pcr-private-key"},
		{name: "public key twice", args: []string{"--pcr-private-key", k1, "--pcr-public-key", p1, "--pcr-public-key", p1}, err: "given twice"},
		{name: "mismatched public key", args: []string{"--pcr-private-key", k1, "--pcr-public-key", p2}, err: "does not match"},
		{name: "unknown bank", args: []string{"--pcr-banks", "sha3"}, err: "unknown PCR bank"},
		{name: "unknown phase", args: []string{"--pcr-private-key", k1, "--phases", "boot"}, err: "unknown boot phase word"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := cli.NewFlagSet(cli.Env{Stdout: io.Discard}, toolName, "test", "", "")
			var pf pcrFlags
			pf.register(fs)
			if err := cli.Parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			s, err := pf.load(context.Background(), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || cli.Code(err) != cli.ExitUsage {
					t.Fatalf("got %v, want exit 2 error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.groups) != len(tc.groups) {
				t.Fatalf("%d groups, want %d", len(s.groups), len(tc.groups))
			}
			for i, g := range s.groups {
				if !slices.Equal(g.Phases, tc.groups[i]) {
					t.Errorf("group %d phases %v, want %v", i, g.Phases, tc.groups[i])
				}
			}
			if !slices.Equal(s.phases, tc.phases) {
				t.Errorf("phases %v, want %v", s.phases, tc.phases)
			}
			if !slices.Equal(s.banks, measure.AllBanks) {
				t.Errorf("banks %v", s.banks)
			}
		})
	}
}
