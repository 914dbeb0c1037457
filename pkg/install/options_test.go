package install

import (
	"errors"
	"strings"
	"testing"
)

func TestMergeAndOptions(t *testing.T) {
	file, err := Load("testdata/config-full.json")
	if err != nil {
		t.Fatal(err)
	}
	limit, key, on := 3, "/keys/other.key", "warn"
	over := &Config{
		ESPs: []string{"/efi", "/efi2"}, ConfigurationLimit: &limit,
		SecureBoot:   &SecureBootConfig{PrivateKey: &key},
		ClosureCheck: &ClosureCheckConfig{OnFailure: &on},
		Loader:       map[string]string{"timeout": "0"},
	}
	o, err := Merge(file, over).Options()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.ESPs, ",") != "/efi,/efi2" || o.Limit != 3 || o.SigningKey != key {
		t.Errorf("flags did not win: %+v", o)
	}
	if o.Certificate != "/var/lib/nix-boot-security/keys/db.crt" || !o.Closure || o.ManifestFrom != "db" || o.OnFailure != "warn" {
		t.Errorf("file values lost: %+v", o)
	}
	if o.Loader["timeout"] != "0" || o.Loader["console-mode"] != "keep" || o.Loader["editor"] != "no" {
		t.Errorf("loader %v", o.Loader)
	}
	if *file.ConfigurationLimit != 10 || file.Loader["timeout"] != "5" {
		t.Error("Merge changed its argument")
	}
	// Defaults.
	d, err := (&Config{Version: 1, ESPs: []string{"/boot"}, Stub: &key, SystemdBoot: &key,
		SecureBoot: &SecureBootConfig{AllowUnsigned: new(true)}}).Options()
	if err != nil {
		t.Fatal(err)
	}
	if d.Profiles != "/nix/var/nix/profiles" || d.SortKey != "nixos" || d.OnFailure != "halt" || !d.Closure || d.PCRKey != "" || d.Loader["editor"] != "no" || d.BootedSystem != "/run/booted-system" {
		t.Errorf("defaults %+v", d)
	}
}

func TestOptionsRequired(t *testing.T) {
	s := "x"
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"no esp", Config{Stub: &s, SystemdBoot: &s}, "no ESP"},
		{"no stub", Config{ESPs: []string{"/b"}, SystemdBoot: &s}, "no systemd-stub"},
		{"no systemd-boot", Config{ESPs: []string{"/b"}, Stub: &s}, "no systemd-boot"},
		{"no key", Config{ESPs: []string{"/b"}, Stub: &s, SystemdBoot: &s}, "--allow-unsigned"},
		{"key without cert", Config{ESPs: []string{"/b"}, Stub: &s, SystemdBoot: &s, SecureBoot: &SecureBootConfig{PrivateKey: &s}}, "go together"},
		{"measured boot without key", Config{ESPs: []string{"/b"}, Stub: &s, SystemdBoot: &s, MeasuredBoot: &MeasuredBootConfig{}}, "pcrPrivateKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Options()
			if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
