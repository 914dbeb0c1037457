package swtpm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// Program is the swtpm executable Start runs.
var Program = "swtpm"

// ErrNotInstalled is returned by Start when swtpm cannot be found.
var ErrNotInstalled = errors.New("swtpm is not installed (Debian package swtpm)")

// Emulator is a running swtpm process with its state in Dir.
type Emulator struct {
	// Dir holds the TPM state and both sockets.
	Dir string
	// Socket is the data socket (raw TPM commands).
	Socket string
	// CtrlSocket is the control socket (swtpm_ioctl protocol).
	CtrlSocket string

	cmd       *exec.Cmd
	stderr    bytes.Buffer
	done      chan error
	closeOnce sync.Once
}

// Start runs a fresh swtpm with its state in dir (created if missing; made
// absolute because swtpm fails on relative state paths). The emulator lives
// until Close or until ctx is cancelled.
func Start(ctx context.Context, dir string) (*Emulator, error) {
	prog, err := exec.LookPath(Program)
	if err != nil {
		return nil, ErrNotInstalled
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("swtpm state dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("swtpm state dir: %w", err)
	}
	e := &Emulator{
		Dir:        dir,
		Socket:     filepath.Join(dir, "sock"),
		CtrlSocket: filepath.Join(dir, "sock.ctrl"),
		done:       make(chan error, 1),
	}
	// tpm2-tss's swtpm TCTI finds the control socket at SOCKET.ctrl, hence
	// the names.
	e.cmd = exec.CommandContext(ctx, prog, "socket", "--tpm2",
		"--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+e.Socket,
		"--ctrl", "type=unixio,path="+e.CtrlSocket,
		"--flags", "not-need-init,startup-clear")
	e.cmd.Stderr = &e.stderr
	e.cmd.Stdout = &e.stderr
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting swtpm: %w", err)
	}
	go func() { e.done <- e.cmd.Wait() }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(e.Socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			// startup-clear runs before the socket is served, so a
			// connection that succeeds reaches a started TPM.
			if c, err := Dial(e.Socket); err == nil {
				c.Close()
				return e, nil
			}
		}
		select {
		case err := <-e.done:
			e.done <- err
			return nil, fmt.Errorf("swtpm exited early (%v): %s", err, strings.TrimSpace(e.stderr.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Close()
			return nil, fmt.Errorf("swtpm did not open %s within 10s: %s", e.Socket, strings.TrimSpace(e.stderr.String()))
		}
	}
}

// Open connects to the emulator's data socket. Close the returned TPM before
// letting another client (TCTI) in: swtpm serves one connection at a time.
func (e *Emulator) Open() (transport.TPMCloser, error) { return Dial(e.Socket) }

// TCTI is the tpm2-tss TCTI string for this emulator, as taken by
// systemd's --tpm2-device= and tpm2-tools' -T.
func (e *Emulator) TCTI() string { return "swtpm:path=" + e.Socket }

// Close stops the emulator and waits for it. The state directory is left
// for the caller.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		if e.cmd.Process == nil {
			return
		}
		_ = e.cmd.Process.Signal(os.Interrupt)
		select {
		case <-e.done:
		case <-time.After(5 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	})
	return nil
}
