package bootcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/medium"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
	"golang.org/x/sys/unix"
)

// Machine is what the boot check needs of the system: the failure actions,
// finding and mounting a medium, setting up a dm-verity device, so tests
// can run every branch without powering anything off or touching
// device-mapper.
type Machine interface {
	PowerOff() error
	Shell() error
	OpenVerity(veritydev.Options) (string, error)
	FindMedium(ctx context.Context, q medium.Query, wait time.Duration) (dev string, err error)
	// Mount mounts source read-only at target (made if missing).
	Mount(source, target, fsType string, kind MountKind) error
}

// MountKind says what is mounted, which decides the mount flags.
type MountKind int

// The mounts the boot check makes; both are read-only and nodev.
const (
	MountMedium MountKind = iota // also nosuid and noexec: only the image is read from it
	MountStore                   // the store: programs run from it
)

// RealMachine acts on the running system.
type RealMachine struct{ Console *os.File }

// ErrNotInitrd is returned by RealMachine.PowerOff outside an initrd.
var ErrNotInitrd = errors.New("the root file system is not an initrd's (ramfs or tmpfs): not powering off")

// PowerOff syncs and powers the machine off (reboot(2)); it needs
// CAP_SYS_BOOT, which an initrd has. It refuses when / is not an initrd's
// ramfs or tmpfs, so that running the command by hand (or in a test, as
// root) never powers off a running system; the boot check then reports
// the failure with exit status 1.
func (m RealMachine) PowerOff() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	if st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC {
		return ErrNotInitrd
	}
	time.Sleep(100 * time.Millisecond) // let the console drain
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// Shell runs /bin/sh on the console and returns when it exits.
func (m RealMachine) Shell() error {
	cmd := exec.Command("/bin/sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = m.Console, m.Console, m.Console
	return cmd.Run()
}

// FindMedium finds the medium among the block devices (pkg/medium).
func (m RealMachine) FindMedium(ctx context.Context, q medium.Query, wait time.Duration) (string, error) {
	return medium.System{}.Find(ctx, q, wait)
}

// Mount mounts read-only, making the mount point first.
func (m RealMachine) Mount(source, target, fsType string, kind MountKind) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	flags := uintptr(unix.MS_RDONLY | unix.MS_NODEV)
	if kind == MountMedium {
		flags |= unix.MS_NOSUID | unix.MS_NOEXEC
	}
	return unix.Mount(source, target, fsType, flags, "")
}

// OpenVerity sets up the verity device (pkg/veritydev).
func (m RealMachine) OpenVerity(o veritydev.Options) (string, error) { return veritydev.Open(o) }

// StopError is what Boot returns when the boot may not go on. Its message
// does not repeat the failure, which is already on the console.
type StopError struct {
	Action  Action
	Err     error // the failure
	Machine error // the action itself failed (power off, shell), or nil
}

func (e *StopError) Error() string {
	if e.Machine != nil {
		return fmt.Sprintf("boot stopped (on-failure=%s); %s failed: %v", e.Action, e.Action, e.Machine)
	}
	return fmt.Sprintf("boot stopped (on-failure=%s)", e.Action)
}

func (e *StopError) Unwrap() []error {
	if e.Machine != nil {
		return []error{e.Err, e.Machine}
	}
	return []error{e.Err}
}

const banner = "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"

// act reports err on the console, once, and carries out the action. It
// returns nil when the boot may go on (warn, or a shell that exited
// cleanly), and a *StopError when it may not.
func act(action Action, err error, console io.Writer, m Machine) error {
	fmt.Fprintf(console, "%s: %v\n", Prefix, err)
	switch action {
	case ActionWarn:
		fmt.Fprintf(console, "%s\n%s: WARNING: the store could not be verified; booting anyway (on-failure=warn)\n%s\n", banner, Prefix, banner)
		return nil
	case ActionShell:
		fmt.Fprintf(console, "%s: starting an emergency shell; the boot continues when it exits\n", Prefix)
		if serr := m.Shell(); serr != nil {
			return &StopError{Action: action, Err: err, Machine: serr}
		}
		return nil
	case ActionFail:
		return &StopError{Action: action, Err: err}
	default:
		fmt.Fprintf(console, "%s: boot stopped; powering off\n", Prefix)
		return &StopError{Action: ActionHalt, Err: err, Machine: m.PowerOff()}
	}
}
