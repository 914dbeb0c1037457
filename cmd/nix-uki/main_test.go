package main

import (
	"context"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

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

// The scripts need the Debian stub and the peer tools; outside CI they are
// skipped when those are missing.
func TestScripts(t *testing.T) {
	const stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	for _, need := range []string{"openssl", "sbverify", "osslsigncode", "objcopy", "cpio", "jq", "swtpm", "perl", "mkfs.vfat", "mcopy", "xorriso"} {
		peer.Tool(t, need)
	}
	for _, f := range []string{stub, systemdMeasure} {
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
			env.Setenv("PADDING_EFI", padding)
			env.Setenv("SYSTEMD_MEASURE", systemdMeasure)
			env.Setenv("SYSTEMD_PAGER", "cat")
			env.Setenv("SYSTEMD_COLORS", "0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// swtpm starts a TPM emulator for the rest of the script and
			// sets $TCTI to its systemd --tpm2-device= form.
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
			},
		},
	})
}
