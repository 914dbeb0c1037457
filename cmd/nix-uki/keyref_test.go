package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/signer"
)

// TestKeyErrorWithoutPKCS11: the line a CGO_ENABLED=0 nix-uki prints for a
// pkcs11: key (pkg/signer's nocgo test proves the error is returned).
func TestKeyErrorWithoutPKCS11(t *testing.T) {
	err := keyError(fmt.Errorf("opening: %w", signer.ErrNoPKCS11))
	if err.Error() != "this nix-uki was built without PKCS#11 support (CGO_ENABLED=0)" || cli.Code(err) != cli.ExitUsage {
		t.Fatalf("%q, status %d", err, cli.Code(err))
	}
	if err := keyError(signer.ErrNoToken); cli.Code(err) != cli.ExitUsage {
		t.Fatalf("status %d", cli.Code(err))
	}
}

// TestStaticBuildRefusesPKCS11 builds nix-uki with CGO_ENABLED=0, as the
// static copies in test initrds are built, and runs it: it builds, and a
// pkcs11: key is refused with one line and exit status 2.
func TestStaticBuildRefusesPKCS11(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nix-uki")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nix-uki")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	id := testcert.New(t, testcert.Template{Name: "db", Dir: dir})
	cmd := exec.Command(bin, "sign", "--key", "pkcs11:token=org;object=db?module-path=/usr/lib/softhsm/libsofthsm2.so",
		"--cert", id.CertPath, id.CertPath, "--output", filepath.Join(dir, "out.efi"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitUsage {
		t.Fatalf("exit %v, want status 2; stderr %q", err, stderr.String())
	}
	if got := stderr.String(); got != "nix-uki: this nix-uki was built without PKCS#11 support (CGO_ENABLED=0)\n" {
		t.Fatalf("stderr %q", got)
	}
}
