package nix

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
	"github.com/nix-boot-security/nix-boot-security/pkg/install"
)

// contractConfig is the install configuration, version 1, as the contract
// between the module and `nix-uki install --config` states it (field names
// and JSON types; pkg/install documents each field). The module must write
// every field and nothing else.
type contractConfig struct {
	Version     int      `json:"version"`
	Esps        []string `json:"esps"`
	Xbootldr    *string  `json:"xbootldr"`
	Profiles    string   `json:"profiles"`
	Stub        string   `json:"stub"`
	SystemdBoot string   `json:"systemdBoot"`
	SecureBoot  struct {
		PrivateKey    *string `json:"privateKey"`
		Certificate   *string `json:"certificate"`
		AllowUnsigned bool    `json:"allowUnsigned"`
	} `json:"secureBoot"`
	ConfigurationLimit int               `json:"configurationLimit"`
	Loader             map[string]string `json:"loader"`
	SortKey            string            `json:"sortKey"`
	BootCounting       struct {
		Tries int `json:"tries"`
	} `json:"bootCounting"`
	ClosureCheck struct {
		Enable       bool   `json:"enable"`
		OnFailure    string `json:"onFailure"`
		Jobs         int    `json:"jobs"`
		ManifestFrom string `json:"manifestFrom"`
		FSVerity     bool   `json:"fsverity"`
	} `json:"closureCheck"`
	MeasuredBoot *struct {
		PcrPrivateKey string   `json:"pcrPrivateKey"`
		PcrPublicKey  *string  `json:"pcrPublicKey"`
		Banks         []string `json:"banks"`
		Phases        []string `json:"phases"`
	} `json:"measuredBoot"`
	ExtraKernelParams []string `json:"extraKernelParams"`
}

var contractFields = []string{"bootCounting", "closureCheck", "configurationLimit", "esps", "extraKernelParams",
	"loader", "measuredBoot", "profiles", "secureBoot", "sortKey", "stub", "systemdBoot", "version", "xbootldr"}

// Every golden configuration is a valid version 1 configuration by the
// contract: strictly typed, no unknown field, no field left out.
func TestInstallConfigContract(t *testing.T) {
	for _, tc := range moduleCases {
		t.Run(tc.name, func(t *testing.T) {
			data := compactFile(t, "testdata/module/"+tc.name+".install.json")
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var c contractConfig
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("not a version 1 configuration: %v", err)
			}
			if c.Version != 1 || len(c.Esps) == 0 {
				t.Errorf("version %d, esps %v", c.Version, c.Esps)
			}
			if _, ok := c.Loader["default"]; ok {
				t.Errorf("loader sets default, which the installer owns")
			}
			var m map[string]json.RawMessage
			json.Unmarshal(data, &m)
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, contractFields) {
				t.Errorf("fields %v, want %v", keys, contractFields)
			}
		})
	}
}

// The module's files as the installer reads them: every golden
// configuration loads (pkg/install.Load) and resolves (Options), and what
// the module meant arrives: the one test of the contract from both sides.
func TestInstallConfigLoad(t *testing.T) {
	got := map[string]install.Options{}
	for _, tc := range moduleCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "install.json")
			if err := os.WriteFile(path, compactFile(t, "testdata/module/"+tc.name+".install.json"), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := install.Load(path)
			if err != nil {
				t.Fatalf("pkg/install.Load: %v", err)
			}
			o, err := c.Options()
			if err != nil {
				t.Fatalf("pkg/install resolving the options: %v", err)
			}
			got[tc.name] = o
		})
	}

	o := got["systemd-initrd"]
	want := install.Options{
		ESPs: []string{"/efi", "/efi2"}, XBOOTLDR: "/boot", Profiles: "/nix/var/nix/profiles",
		SigningKey:  "pkcs11:token=org-ca;object=db?module-path=/run/current-system/sw/lib/softhsm/libsofthsm2.so&pin-source=file:/run/keys/pin",
		Certificate: "/var/lib/nix-boot-security/keys/db/db.pem",
		Limit:       3, Loader: map[string]string{"auto-entries": "no", "console-mode": "max", "editor": "no", "timeout": "0"},
		SortKey: "nixos-laptop", Tries: 3, Closure: true, OnFailure: "fail", Jobs: 4, ManifestFrom: "hash",
		ExtraParams: []string{"quiet", "nix-closure-verify.root=/sysroot"},
	}
	o.Stub, o.SystemdBoot, o.BootedSystem, o.RequireVFAT = "", "", "", false
	if !reflect.DeepEqual(o, want) {
		t.Errorf("systemd-initrd as the installer resolves it:\n%+v\nwant\n%+v", o, want)
	}
	m := got["shell-measured"]
	if m.OnFailure != "shell" || m.PCRKey != "/var/lib/nix-boot-security/keys/pcr.key" || m.PCRPublicKey != "/etc/nix-boot-security/pcr.pub.pem" ||
		!reflect.DeepEqual(m.PCRBanks, []string{"sha256", "sha384"}) || !reflect.DeepEqual(m.Phases, []string{"enter-initrd", "enter-initrd:leave-initrd"}) {
		t.Errorf("shell-measured as the installer resolves it: %+v", m)
	}
	if f := got["fsverity"]; !f.FSVerity || !f.Closure || o.FSVerity {
		t.Errorf("closureCheck.fsverity as the installer resolves it: fsverity %+v, systemd-initrd %+v", f, o)
	}
	u := got["unsigned-unchecked"]
	if !u.AllowUnsigned || u.SigningKey != "" || u.Closure {
		t.Errorf("unsigned-unchecked as the installer resolves it: %+v", u)
	}
}

// A configuration of another version, or of none, is refused by the
// installer with a line naming the version it understands, exit status 2.
func TestInstallConfigOtherVersion(t *testing.T) {
	good := string(compactFile(t, "testdata/module/signed-scripted.install.json"))
	if !strings.Contains(good, `,"version":1,`) {
		t.Fatalf("the golden configuration has no version 1 between fields: %s", good)
	}
	nixUKI := buildNixUKI(t)
	for _, tc := range []struct{ name, data, want string }{
		{"version 2", strings.Replace(good, `,"version":1,`, `,"version":2,`, 1), "version 2, understood: 1"},
		{"no version", strings.Replace(good, `,"version":1,`, `,`, 1), "version missing, understood: 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "install.json")
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := install.Load(path)
			if !errors.Is(err, install.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("pkg/install.Load: %v, want an ErrConfig saying %q", err, tc.want)
			}
			cmd := exec.Command(nixUKI, "install", "--config", path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err = cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("nix-uki install --config: %v, want exit status 2", err)
			}
			if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "nix-uki: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("nix-uki install --config said %q, want one line saying %q", msg, tc.want)
			}
		})
	}
}

// buildNixUKI builds cmd/nix-uki into the test's temporary directory.
func buildNixUKI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nix-uki")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/nix-uki")
	cmd.Dir = nixeval.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nix-uki: %v\n%s", err, out)
	}
	return bin
}
