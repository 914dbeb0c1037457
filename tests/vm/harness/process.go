package harness

import (
	"os/exec"
	"syscall"
)

// detach gives a child its own process group, so Close can kill it with
// everything it may have started, and asks the kernel to kill it if the test
// binary dies first (Linux Pdeathsig), so no VM outlives a crashed test.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group of a started command.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Process.Kill()
}
