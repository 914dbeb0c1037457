package swtpm

import (
	"context"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

func TestEmulator(t *testing.T) {
	peer.Tool(t, Program)
	e, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for round := range 2 { // one client after the other, as swtpm allows
		tpm, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		rsp, err := tpm2.GetRandom{BytesRequested: 16}.Execute(tpm)
		if err != nil {
			t.Fatalf("round %d: GetRandom: %v", round, err)
		}
		if len(rsp.RandomBytes.Buffer) != 16 {
			t.Errorf("GetRandom gave %d bytes", len(rsp.RandomBytes.Buffer))
		}
		tpm.Close()
	}
	if e.TCTI() != "swtpm:path="+e.Socket {
		t.Errorf("TCTI %q", e.TCTI())
	}
	e.Close()
	e.Close() // idempotent
}
