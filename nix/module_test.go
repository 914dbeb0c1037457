package nix

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixeval"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestModuleGolden")

// keys is the smallest signed configuration.
const keys = `boot.verifiedBoot.enable = true;
  boot.verifiedBoot.secureBoot.privateKey = "/var/lib/nix-boot-security/keys/db/db.key";
  boot.verifiedBoot.secureBoot.certificate = "/var/lib/nix-boot-security/keys/db/db.pem";`

// evalModule evaluates nix/module.nix with the NixOS stubs and the given
// configuration (the body of an attribute set) and returns attribute attr
// of testdata/eval-module.nix ("" for all of them).
func evalModule(t *testing.T, config, attr string) ([]byte, error) {
	t.Helper()
	lib := nixeval.Lib(t)
	args := []string{"nix/testdata/eval-module.nix",
		"--arg", "lib", "import " + lib,
		"--arg", "modules", "[ ({ lib, ... }: { " + config + " }) ]"}
	if attr != "" {
		args = append(args, "-A", attr)
	}
	return nixeval.Eval(t, args...)
}

func mustEvalModule(t *testing.T, config, attr string) []byte {
	t.Helper()
	out, err := evalModule(t, config, attr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// installConfig returns the module's install configuration file, parsed.
func installConfig(t *testing.T, config string) map[string]any {
	t.Helper()
	var text string
	if err := json.Unmarshal(mustEvalModule(t, config, "installConfig"), &text); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("the install configuration is not JSON: %v\n%s", err, text)
	}
	return m
}

func failedAssertions(t *testing.T, config string) []string {
	t.Helper()
	var msgs []string
	if err := json.Unmarshal(mustEvalModule(t, config, "failedAssertions"), &msgs); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestModuleDefaults(t *testing.T) {
	c := installConfig(t, keys)
	want := map[string]any{
		"version":            1.0,
		"esps":               []any{"/boot"},
		"xbootldr":           nil,
		"profiles":           "/nix/var/nix/profiles",
		"configurationLimit": 10.0,
		"loader":             map[string]any{"timeout": "5", "editor": "no", "console-mode": "keep"},
		"sortKey":            "nixos",
		"bootCounting":       map[string]any{"tries": 0.0},
		"closureCheck":       map[string]any{"enable": true, "onFailure": "halt", "jobs": 0.0, "manifestFrom": "db", "fsverity": false},
		"measuredBoot":       nil,
		"secureBoot": map[string]any{"allowUnsigned": false,
			"privateKey": "/var/lib/nix-boot-security/keys/db/db.key", "certificate": "/var/lib/nix-boot-security/keys/db/db.pem"},
		"extraKernelParams": []any{"nix-closure-verify.root=/mnt-root"},
	}
	for k, w := range want {
		if got, _ := json.Marshal(c[k]); string(got) != string(mustJSON(t, w)) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(t, w))
		}
	}
	for _, k := range []string{"stub", "systemdBoot"} {
		s, _ := c[k].(string)
		if !strings.HasPrefix(s, "/nix/store/") || !strings.Contains(s, "-systemd-") {
			t.Errorf("%s = %q, want a file of config.systemd.package", k, s)
		}
	}

	// boot.loader.timeout = null is systemd-boot's menu-force, as NixOS's
	// own systemd-boot module writes it.
	c = installConfig(t, keys+` boot.loader.timeout = null;`)
	if got := c["loader"].(map[string]any)["timeout"]; got != "menu-force" {
		t.Errorf("timeout with boot.loader.timeout = null: %v, want menu-force", got)
	}
	// The XBOOTLDR partition systemd-boot's module was told about.
	c = installConfig(t, keys+` boot.loader.systemd-boot.xbootldrMountPoint = "/boot"; boot.loader.efi.efiSysMountPoint = "/efi";`)
	if c["xbootldr"] != "/boot" || string(mustJSON(t, c["esps"])) != `["/efi"]` {
		t.Errorf("with systemd-boot's XBOOTLDR: xbootldr %v, esps %v", c["xbootldr"], c["esps"])
	}
	// The systemd initrd mounts the system at /sysroot.
	c = installConfig(t, keys+` boot.initrd.systemd.enable = true;`)
	if got := mustJSON(t, c["extraKernelParams"]); string(got) != `["nix-closure-verify.root=/sysroot"]` {
		t.Errorf("extraKernelParams with the systemd initrd: %s", got)
	}
}

func TestModuleDisabledSetsNothing(t *testing.T) {
	out := mustEvalModule(t, `boot.verifiedBoot.secureBoot.privateKey = /var/lib/k/db.key;`, "loader")
	if string(out) != `{"enable":false,"grub":true,"installBootLoader":null,"systemd-boot":false}` {
		t.Errorf("loader with the module off: %s", out)
	}
	if msgs := failedAssertions(t, `boot.verifiedBoot.secureBoot.privateKey = /var/lib/k/db.key;`); len(msgs) != 0 {
		t.Errorf("assertions with the module off: %q", msgs)
	}
	var initrd map[string]any
	json.Unmarshal(mustEvalModule(t, ``, "initrd"), &initrd)
	if initrd["systemdUnit"] != nil || initrd["postMountCommands"] != "" || initrd["extraUtilsCommands"] != "" {
		t.Errorf("initrd with the module off: %v", initrd)
	}
}

func TestModuleInstallsThroughTheHook(t *testing.T) {
	var loader struct {
		Enable            bool   `json:"enable"`
		InstallBootLoader string `json:"installBootLoader"`
		Grub              bool   `json:"grub"`
		SystemdBoot       bool   `json:"systemd-boot"`
	}
	if err := json.Unmarshal(mustEvalModule(t, keys, "loader"), &loader); err != nil {
		t.Fatal(err)
	}
	if !loader.Enable || loader.Grub || loader.SystemdBoot || !strings.HasSuffix(loader.InstallBootLoader, "-nix-boot-security-install") {
		t.Errorf("boot loader settings: %+v", loader)
	}
	var hook string
	json.Unmarshal(mustEvalModule(t, keys, "installHook"), &hook)
	if !strings.Contains(hook, `/bin/nix-uki install --config /nix/store/`) || !strings.Contains(hook, `-nix-boot-security-install.json "$@"`) {
		t.Errorf("install hook:\n%s", hook)
	}
}

func TestModuleAssertions(t *testing.T) {
	store := "/nix/store/00000000000000000000000000000000-keys"
	tests := []struct {
		name, config string
		want         string // the one failing assertion's message contains this; "" for none
	}{
		{"signed", keys, ""},
		{"key as a path literal", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = /var/lib/nix-boot-security/keys/db/db.key;
			boot.verifiedBoot.secureBoot.certificate = "/var/lib/nix-boot-security/keys/db/db.pem";`,
			"secureBoot.privateKey is a Nix path literal"},
		{"key in the store", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = "` + store + `/db.key";
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`,
			`secureBoot.privateKey = "` + store + `/db.key" is in /nix/store`},
		{"key in the store by storeDir", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = builtins.storeDir + "/x-keys/db.key";
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`,
			"is in /nix/store, which every user can read"},
		{"key relative", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = "keys/db.key";
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`,
			"neither an absolute file name nor a pkcs11: or tpm: URI"},
		{"key on a token", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = "pkcs11:token=ca;object=db?module-path=/run/current-system/sw/lib/softhsm/libsofthsm2.so";
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`, ""},
		{"key in a TPM", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = "tpm:handle=0x81000001";
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`, ""},
		{"certificate missing", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.privateKey = "/var/lib/k/db.key";`,
			"privateKey and certificate go together"},
		{"no keys", `boot.verifiedBoot.enable = true;`, "no signing key; set privateKey and certificate"},
		{"no keys, unsigned allowed", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.allowUnsigned = true;`, ""},
		{"certificate missing, unsigned allowed", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.allowUnsigned = true;
			boot.verifiedBoot.secureBoot.privateKey = "/var/lib/k/db.key";`, "privateKey and certificate go together"},
		{"certificate without key", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.allowUnsigned = true;
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";`, "privateKey and certificate go together"},
		{"keys with unsigned allowed", keys + `
			boot.verifiedBoot.secureBoot.allowUnsigned = true;`, ""},
		{"path literal key, unsigned allowed", `boot.verifiedBoot.enable = true;
			boot.verifiedBoot.secureBoot.allowUnsigned = true;
			boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";
			boot.verifiedBoot.secureBoot.privateKey = /var/lib/k/db.key;`, "is a Nix path literal"},
		{"PCR key as a path literal", keys + `
			boot.verifiedBoot.measuredBoot.enable = true;
			boot.verifiedBoot.measuredBoot.pcrPrivateKey = /var/lib/k/pcr.key;`,
			"measuredBoot.pcrPrivateKey is a Nix path literal"},
		{"PCR key in the store", keys + `
			boot.verifiedBoot.measuredBoot.enable = true;
			boot.verifiedBoot.measuredBoot.pcrPrivateKey = "` + store + `/pcr.key";`,
			"measuredBoot.pcrPrivateKey = \"" + store + "/pcr.key\" is in /nix/store"},
		{"measured boot without a key", keys + ` boot.verifiedBoot.measuredBoot.enable = true;`,
			"measuredBoot.enable needs measuredBoot.pcrPrivateKey"},
		{"loader default", keys + ` boot.verifiedBoot.settings.default = "nixos-*";`,
			"settings.default cannot be set"},
		{"systemd-boot forced on", keys + ` boot.loader.systemd-boot.enable = true;`,
			"turn boot.loader.systemd-boot.enable and boot.loader.grub.enable off"},
		{"no bootspec", keys + ` boot.bootspec.enable = false;`, "needs boot.bootspec.enable"},
		{"store image without the check", keys + `
			boot.verifiedBoot.closureCheck.enable = false;
			boot.verifiedBoot.storeImage = { enable = true; device = "/dev/vdb"; rootHash = "` + strings.Repeat("ab", 32) + `"; };`,
			"storeImage needs closureCheck.enable"},
		{"fs-verity", keys + ` boot.verifiedBoot.closureCheck.fsverity = true;`, ""},
		{"fs-verity without the check", keys + `
			boot.verifiedBoot.closureCheck = { enable = false; fsverity = true; };`,
			"closureCheck.fsverity needs closureCheck.enable and no storeImage"},
		{"fs-verity with a store image", keys + `
			boot.verifiedBoot.closureCheck.fsverity = true;
			boot.verifiedBoot.storeImage = { enable = true; device = "/dev/vdb"; rootHash = "` + strings.Repeat("ab", 32) + `"; };`,
			"closureCheck.fsverity needs closureCheck.enable and no storeImage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := failedAssertions(t, tt.config)
			switch {
			case tt.want == "" && len(msgs) != 0:
				t.Errorf("refused: %q", msgs)
			case tt.want != "" && (len(msgs) != 1 || !strings.Contains(msgs[0], tt.want)):
				t.Errorf("failed assertions %q, want exactly one containing %q", msgs, tt.want)
			}
		})
	}
}

// A key given as a path literal is refused, and even before the assertion
// stops the build, nothing the module evaluates copies it into the store.
func TestModuleNeverCopiesAKey(t *testing.T) {
	c := installConfig(t, `boot.verifiedBoot.enable = true;
		boot.verifiedBoot.secureBoot.privateKey = /var/lib/k/db.key;
		boot.verifiedBoot.secureBoot.certificate = "/etc/db.pem";
		boot.verifiedBoot.measuredBoot = { enable = true; pcrPrivateKey = /var/lib/k/pcr.key; };`)
	if got := c["secureBoot"].(map[string]any)["privateKey"]; got != "/var/lib/k/db.key" {
		t.Errorf("privateKey in the configuration: %v", got)
	}
	if got := c["measuredBoot"].(map[string]any)["pcrPrivateKey"]; got != "/var/lib/k/pcr.key" {
		t.Errorf("pcrPrivateKey in the configuration: %v", got)
	}
}

// Bad option values are refused by their types, at evaluation.
func TestModuleTypes(t *testing.T) {
	for _, tt := range []struct{ config, want string }{
		{keys + ` boot.verifiedBoot.closureCheck.onFailure = "reboot";`, "boot.verifiedBoot.closureCheck.onFailure"},
		{keys + ` boot.verifiedBoot.closureCheck.manifestFrom = "guess";`, "boot.verifiedBoot.closureCheck.manifestFrom"},
		{keys + ` boot.verifiedBoot.configurationLimit = -1;`, "boot.verifiedBoot.configurationLimit"},
		{keys + ` boot.verifiedBoot.measuredBoot = { enable = true; pcrPrivateKey = "/k"; banks = [ "md5" ]; };`, "boot.verifiedBoot.measuredBoot.banks"},
		{keys + ` boot.verifiedBoot.storeImage = { enable = true; device = "/dev/vdb"; rootHash = "abc"; };`, "boot.verifiedBoot.storeImage.rootHash"},
		{keys + ` boot.verifiedBoot.sortKey = "Nix OS";`, "boot.verifiedBoot.sortKey"},
	} {
		_, err := evalModule(t, tt.config, "installConfig")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one naming %s", tt.config, err, tt.want)
		}
	}
}

// moduleCases are the configurations whose install configuration file and
// initrd side are kept in testdata/module (go test ./nix/ -run
// TestModuleGolden -update rewrites them; see testdata/module/README).
var moduleCases = []struct{ name, config string }{
	{"signed-scripted", keys},
	{"systemd-initrd", `
		boot.initrd.systemd.enable = true;
		boot.loader.efi.efiSysMountPoint = "/efi";
		boot.verifiedBoot = {
			enable = true;
			secureBoot.certificate = "/var/lib/nix-boot-security/keys/db/db.pem";
			secureBoot.privateKey = "pkcs11:token=org-ca;object=db?module-path=/run/current-system/sw/lib/softhsm/libsofthsm2.so&pin-source=file:/run/keys/pin";
			extraEfiSysMountPoints = [ "/efi2" ];
			xbootldrMountPoint = "/boot";
			configurationLimit = 3;
			settings = { timeout = 0; console-mode = "max"; auto-entries = false; beep = null; };
			sortKey = "nixos-laptop";
			bootCounting.tries = 3;
			closureCheck = { onFailure = "fail"; jobs = 4; manifestFrom = "hash"; };
			extraKernelParams = [ "quiet" ];
		};`},
	{"shell-measured", keys + `
		boot.initrd.systemd.enable = true;
		boot.verifiedBoot = {
			closureCheck.onFailure = "shell";
			measuredBoot = {
				enable = true;
				pcrPrivateKey = "/var/lib/nix-boot-security/keys/pcr.key";
				pcrPublicKey = "/etc/nix-boot-security/pcr.pub.pem";
				banks = [ "sha256" "sha384" ];
				phases = [ "enter-initrd" "enter-initrd:leave-initrd" ];
			};
		};`},
	{"unsigned-unchecked", `boot.verifiedBoot = {
			enable = true;
			secureBoot.allowUnsigned = true;
			closureCheck.enable = false;
		};`},
	{"store-image", keys + `
		boot.initrd.systemd.enable = true;
		boot.verifiedBoot.storeImage = {
			enable = true;
			device = "/dev/disk/by-partlabel/nix-store";
			hashDevice = "/dev/disk/by-partlabel/nix-store-verity";
			rootHash = "` + strings.Repeat("0123456789abcdef", 4) + `";
		};`},
	{"store-image-scripted", keys + `
		boot.verifiedBoot.storeImage = {
			enable = true;
			device = "/dev/vdb";
			hashOffset = 1073741824;
			name = "store";
			rootHash = "` + strings.Repeat("fedcba9876543210", 4) + `";
		};`},
	{"fsverity", keys + `
		boot.initrd.systemd.enable = true;
		boot.verifiedBoot.closureCheck.fsverity = true;`},
}

func TestModuleGolden(t *testing.T) {
	for _, tc := range moduleCases {
		t.Run(tc.name, func(t *testing.T) {
			// One evaluation of everything eval-module.nix returns.
			var all map[string]json.RawMessage
			if err := json.Unmarshal(mustEvalModule(t, tc.config, ""), &all); err != nil {
				t.Fatal(err)
			}
			if msgs := string(all["failedAssertions"]); msgs != "[]" {
				t.Fatalf("refused: %s", msgs)
			}
			var text string
			if err := json.Unmarshal(all["installConfig"], &text); err != nil {
				t.Fatal(err)
			}
			var side bytes.Buffer
			side.WriteString(`{"initrd":`)
			side.Write(all["initrd"])
			side.WriteString(`,"installHook":`)
			side.Write(all["installHook"])
			side.WriteString(`}`)

			configFile := filepath.Join("testdata", "module", tc.name+".install.json")
			initrdFile := filepath.Join("testdata", "module", tc.name+".initrd.json")
			if *update {
				writeIndented(t, configFile, []byte(text))
				writeIndented(t, initrdFile, side.Bytes())
			}
			// The configuration file byte for byte: the golden file is
			// indented for reading, compacting it keeps the key order.
			if want := compactFile(t, configFile); text != string(want) {
				t.Errorf("install configuration:\n%s\nwant (%s):\n%s", text, configFile, want)
			}
			if want := compactFile(t, initrdFile); side.String() != string(want) {
				t.Errorf("initrd side:\n%s\nwant (%s):\n%s", side.String(), initrdFile, want)
			}
		})
	}
}

func writeIndented(t *testing.T, path string, compact []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	b.WriteByte('\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func compactFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./nix/ -run TestModuleGolden -update writes it)", err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c.Bytes()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
