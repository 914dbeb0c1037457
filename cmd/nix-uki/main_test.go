package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/systemdpeer"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"nix-uki": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

const systemdMeasure = "/usr/lib/systemd/systemd-measure"

// softhsmModule is Debian's SoftHSM2 PKCS#11 module, $SOFTHSM_MODULE in
// the scripts.
const softhsmModule = "/usr/lib/softhsm/libsofthsm2.so"

// The scripts need the Debian stub and the peer tools; outside CI they are
// skipped when those are missing.
func TestScripts(t *testing.T) {
	const stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	for _, need := range []string{"openssl", "sbverify", "osslsigncode", "objcopy", "cpio", "jq", "swtpm", "perl", "softhsm2-util", "pkcs11-tool", "mkfs.vfat", "mcopy", "xorriso"} {
		peer.Tool(t, need)
	}
	for _, f := range []string{stub, systemdMeasure, softhsmModule} {
		if _, err := os.Stat(f); err != nil {
			peer.Missing(t, "%v", err)
		}
	}
	// A crafted image, made by pkg/uki's TestPaddingGolden.
	padding, err := filepath.Abs("../../pkg/uki/testdata/padding.efi")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("STUB", stub)
			env.Setenv("SYSTEMD_BOOT", "/usr/lib/systemd/boot/efi/systemd-bootx64.efi")
			env.Setenv("PADDING_EFI", padding)
			env.Setenv("SYSTEMD_MEASURE", systemdMeasure)
			env.Setenv("SOFTHSM_MODULE", softhsmModule)
			env.Setenv("SYSTEMD_PAGER", "cat")
			env.Setenv("SYSTEMD_COLORS", "0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// swtpm starts a TPM emulator for the rest of the script and
			// sets $TCTI to its systemd --tpm2-device= form and
			// $SWTPM_SOCKET to its data socket (for tpm: key references).
			"swtpm": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: swtpm")
				}
				ctx, cancel := context.WithCancel(context.Background())
				e, err := swtpm.Start(ctx, filepath.Join(ts.Getenv("WORK"), ".swtpm"))
				if err != nil {
					cancel()
					ts.Fatalf("starting swtpm: %v", err)
				}
				ts.Defer(func() { e.Close(); cancel() })
				ts.Setenv("TCTI", e.TCTI())
				ts.Setenv("SWTPM_SOCKET", e.Socket)
			},
		},
	})
}

// TestStubScripts runs testdata/stubs with the stubs of scripts/deps-systemd:
// $STUB257 and $STUB_NEWEST (and its addon stub, $ADDON_NEWEST), $NEWEST
// the newest pinned major version.
func TestStubScripts(t *testing.T) {
	for _, need := range []string{"perl", "jq"} {
		peer.Tool(t, need)
	}
	newest := systemdpeer.Newest(t)
	stub257, stubNewest := systemdpeer.Get(t, 257).Stub(t), newest.Stub(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/stubs",
		Setup: func(env *testscript.Env) error {
			env.Setenv("STUB257", stub257)
			env.Setenv("STUB_NEWEST", stubNewest)
			env.Setenv("ADDON_NEWEST", filepath.Join(filepath.Dir(stubNewest), "addonx64.efi.stub"))
			env.Setenv("NEWEST", fmt.Sprint(newest.Major))
			return nil
		},
	})
}
