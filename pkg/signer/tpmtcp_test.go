package signer

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpmkey"
)

// freePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestOpenTPMOverTCP: ?swtpm=HOST:PORT reaches a swtpm serving TCP.
func TestOpenTPMOverTCP(t *testing.T) {
	prog := peer.Tool(t, swtpm.Program)
	dir := t.TempDir()
	ports := freePorts(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(ports[0]),
		"--ctrl", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(ports[1]),
		"--flags", "not-need-init,startup-clear")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cancel()
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	ref := &TPMRef{Blob: filepath.Join(dir, "k.tpmkey"), Swtpm: addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tr, err := OpenTPM(ref)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tpmkey.Create(tr, tpmkey.RSA2048)
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := b.Marshal()
	if err := os.WriteFile(ref.Blob, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, ref.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkSigns(t, s)
}
