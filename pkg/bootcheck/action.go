package bootcheck

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// Machine is what a failure action needs of the system, so tests can run
// the actions without powering anything off.
type Machine interface {
	PowerOff() error
	Shell() error
}

// RealMachine acts on the running system.
type RealMachine struct{ Console *os.File }

// PowerOff syncs and powers the machine off (reboot(2)); it needs
// CAP_SYS_BOOT, which an initrd has.
func (m RealMachine) PowerOff() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// Shell runs /bin/sh on the console and returns when it exits.
func (m RealMachine) Shell() error {
	cmd := exec.Command("/bin/sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = m.Console, m.Console, m.Console
	return cmd.Run()
}

// Fail reports err on the console and carries out the action. It returns
// nil when the boot may continue (warn, or a shell that exited), and an
// error when it may not (halt that could not power off, fail).
func Fail(action Action, err error, console io.Writer, m Machine) error {
	fmt.Fprintf(console, "%s: %v\n", Prefix, err)
	switch action {
	case ActionWarn:
		banner := "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
		fmt.Fprintf(console, "%s\n%s: WARNING: the store could not be verified; booting anyway (on-failure=warn)\n%s\n", banner, Prefix, banner)
		return nil
	case ActionShell:
		fmt.Fprintf(console, "%s: starting an emergency shell; the boot continues when it exits\n", Prefix)
		if serr := m.Shell(); serr != nil {
			return fmt.Errorf("emergency shell: %v (after: %w)", serr, err)
		}
		return nil
	case ActionFail:
		return err
	default:
		fmt.Fprintf(console, "%s: boot stopped; powering off\n", Prefix)
		time.Sleep(100 * time.Millisecond) // let the console drain
		if perr := m.PowerOff(); perr != nil {
			return fmt.Errorf("power off: %v (after: %w)", perr, err)
		}
		return err
	}
}
