package signer

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestClosureVerifyLinksNoPKCS11 holds the promise of the package doc:
// nix-closure-verify (static, CGO_ENABLED=0) links neither this package
// nor crypto11, whatever the build's cgo setting.
func TestClosureVerifyLinksNoPKCS11(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, cgo := range []string{"0", "1"} {
		cmd := exec.Command(goTool, "list", "-deps", "github.com/nix-boot-security/nix-boot-security/cmd/nix-closure-verify")
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED="+cgo)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "crypto11") || strings.Contains(dep, "miekg/pkcs11") || strings.HasSuffix(dep, "/pkg/signer") {
				t.Errorf("CGO_ENABLED=%s: nix-closure-verify depends on %s", cgo, dep)
			}
		}
	}
}
