package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// swtpm is a TPM 2.0 emulator serving QEMU over a Unix control socket.
type swtpm struct {
	cmd    *exec.Cmd
	socket string
	done   chan struct{}
	stderr bytes.Buffer
}

// startSwtpm runs swtpm in the foreground (not --daemon, so the harness owns
// its process) with its state in stateDir, and waits for its socket.
func startSwtpm(ctx context.Context, stateDir string) (*swtpm, error) {
	// swtpm resolves a relative state directory after changing directory,
	// and Unix socket paths are limited to 108 bytes: use short absolute
	// paths.
	stateDir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	t := &swtpm{socket: filepath.Join(stateDir, "swtpm.sock"), done: make(chan struct{})}
	os.Remove(t.socket)
	t.cmd = exec.Command("swtpm", "socket", "--tpm2",
		"--tpmstate", "dir="+stateDir,
		"--ctrl", "type=unixio,path="+t.socket,
		"--log", "file="+filepath.Join(stateDir, "swtpm.log"))
	t.cmd.Stderr = &t.stderr
	detach(t.cmd)
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting swtpm: %w", err)
	}
	go func() { t.cmd.Wait(); close(t.done) }()

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(t.socket); err == nil {
			return t, nil
		}
		select {
		case <-t.done:
			return nil, fmt.Errorf("swtpm exited at start (%v): %s", t.cmd.ProcessState, bytes.TrimSpace(t.stderr.Bytes()))
		case <-deadline.C:
			t.stop()
			return nil, fmt.Errorf("swtpm socket %s did not appear", t.socket)
		case <-ctx.Done():
			t.stop()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// qemuArgs connect QEMU's TIS interface to the emulator.
func (t *swtpm) qemuArgs() []string {
	return []string{
		"-chardev", "socket,id=chrtpm,path=" + qemuPath(t.socket),
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
		"-device", "tpm-tis,tpmdev=tpm0",
	}
}

func (t *swtpm) stop() {
	killGroup(t.cmd)
	<-t.done
}
