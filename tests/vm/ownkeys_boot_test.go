//go:build vm

package vm

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/tests/vm/harness"
)

// bootOwnKeys boots image on OVMF with the variable store vars (our own
// keys enrolled, Secure Boot enforced). With boots, the firmware must
// start it (the guest prints marker), and the guest must report
// SecureBoot=1 and SetupMode=0 and power off; otherwise the firmware must
// refuse it before the guest prints anything.
func bootOwnKeys(t *testing.T, vars, image, marker string, boots bool, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	vm := harness.Boot(t, harness.Config{
		Firmware: harness.FirmwareOwnKeys(vars),
		ESPDir:   espWith(t, image),
		Timeout:  timeout,
	})
	i, line, err := vm.WaitForAny(ctx, harness.RefusedRE, regexp.MustCompile(`^`+regexp.QuoteMeta(marker)+`$`))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case boots && i == 0:
		t.Fatalf("firmware refused the image: %s", line)
	case !boots && i == 1:
		t.Fatalf("firmware started the image (the guest printed its marker)")
	case !boots:
		t.Logf("refused after %s: %s", time.Since(start).Round(100*time.Millisecond), line)
		return
	}
	if line, err = vm.WaitFor(ctx, harness.EfivarsRE); err != nil {
		t.Fatal(err)
	}
	if sb, sm, _ := harness.ParseEfivarsLine(line); sb != 1 || sm != 0 {
		t.Errorf("booted with SecureBoot=%d SetupMode=%d, want 1 and 0 (%q)", sb, sm, line)
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("booted (%s) and powered off after %s", line, time.Since(start).Round(100*time.Millisecond))
}
