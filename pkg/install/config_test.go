package install

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/config-full.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ESPs) != 1 || c.ESPs[0] != "/boot" || c.XBOOTLDR != nil {
		t.Errorf("esps/xbootldr: %v %v", c.ESPs, c.XBOOTLDR)
	}
	if *c.ConfigurationLimit != 10 || *c.SecureBoot.PrivateKey != "/var/lib/nix-boot-security/keys/db.key" {
		t.Errorf("limit/key: %v %v", *c.ConfigurationLimit, *c.SecureBoot.PrivateKey)
	}
	if c.Loader["console-mode"] != "keep" || *c.ClosureCheck.ManifestFrom != "db" || c.MeasuredBoot.Phases[0] != "enter-initrd" {
		t.Errorf("loader/closure/measured: %+v", c)
	}
}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string // want "" = ok
	}{
		{"minimal", `{"version":1}`, ""},
		{"nulls", `{"version":1,"xbootldr":null,"measuredBoot":null,"secureBoot":{"privateKey":null}}`, ""},
		{"no version", `{"esps":["/boot"]}`, "version missing, understood: 1"},
		{"version 2", `{"version":2,"new":1}`, "version 2, understood: 1"},
		{"version string", `{"version":"1"}`, `version "1", understood: 1`},
		{"unknown field", `{"version":1,"esp":"/boot"}`, `unknown field "esp"`},
		{"unknown nested", `{"version":1,"secureBoot":{"key":"x"}}`, `unknown field "key"`},
		{"not an object", `[1]`, "cannot unmarshal"},
		{"trailing", `{"version":1} {}`, "after top-level value"},
		{"negative limit", `{"version":1,"configurationLimit":-1}`, "negative"},
		{"negative tries", `{"version":1,"bootCounting":{"tries":-2}}`, "negative"},
		{"on failure", `{"version":1,"closureCheck":{"onFailure":"reboot"}}`, "want halt"},
		{"manifest from", `{"version":1,"closureCheck":{"manifestFrom":"nar"}}`, "want db or hash"},
		{"loader default", `{"version":1,"loader":{"default":"x"}}`, "set by the installer"},
		{"loader newline", `{"version":1,"loader":{"timeout":"5\ndefault x"}}`, "spans lines"},
		{"loader key space", `{"version":1,"loader":{"a b":"1"}}`, "not a loader.conf key"},
		{"empty param", `{"version":1,"extraKernelParams":[""]}`, "not a kernel parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.json))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load("testdata/none.json"); err == nil || errors.Is(err, ErrConfig) {
		t.Fatalf("got %v, want a read error", err)
	}
}
