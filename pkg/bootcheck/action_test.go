package bootcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/medium"
	"github.com/nix-boot-security/nix-boot-security/pkg/veritydev"
)

// fakeMachine records what the check asked of the machine.
type fakeMachine struct {
	poweredOff, shell           int
	opened                      []veritydev.Options
	powerErr, shellErr, openErr error

	medium    string // FindMedium's device
	mediumErr error
	found     []medium.Query
	verityDev string // OpenVerity's device; "" means /dev/mapper/NAME
	mounts    []string
	mountErr  error
}

func (f *fakeMachine) FindMedium(_ context.Context, q medium.Query, _ time.Duration) (string, error) {
	f.found = append(f.found, q)
	return f.medium, f.mediumErr
}

func (f *fakeMachine) Mount(source, target, fsType string, kind MountKind) error {
	f.mounts = append(f.mounts, fmt.Sprintf("%s %s %s %d", source, target, fsType, kind))
	return f.mountErr
}

func (f *fakeMachine) PowerOff() error { f.poweredOff++; return f.powerErr }
func (f *fakeMachine) Shell() error    { f.shell++; return f.shellErr }
func (f *fakeMachine) OpenVerity(o veritydev.Options) (string, error) {
	f.opened = append(f.opened, o)
	if f.openErr != nil {
		return "", f.openErr
	}
	if f.verityDev != "" {
		return f.verityDev, nil
	}
	return "/dev/mapper/" + o.Name, nil
}

func TestActions(t *testing.T) {
	boom := errors.New("boom: the store differs")
	machineErr := errors.New("operation not permitted")
	cases := []struct {
		action        Action
		machine       fakeMachine
		stop          bool
		poweroff, sh  int
		consoleSubstr string
	}{
		{ActionHalt, fakeMachine{}, true, 1, 0, "boot stopped; powering off"},
		{ActionHalt, fakeMachine{powerErr: machineErr}, true, 1, 0, "boot stopped; powering off"},
		{ActionWarn, fakeMachine{}, false, 0, 0, "WARNING"},
		{ActionShell, fakeMachine{}, false, 0, 1, "emergency shell"},
		{ActionShell, fakeMachine{shellErr: machineErr}, true, 0, 1, "emergency shell"},
		{ActionFail, fakeMachine{}, true, 0, 0, "boom"},
	}
	for _, c := range cases {
		var console bytes.Buffer
		m := c.machine
		err := act(c.action, boom, &console, &m)
		if (err != nil) != c.stop || m.poweredOff != c.poweroff || m.shell != c.sh ||
			!strings.Contains(console.String(), c.consoleSubstr) {
			t.Errorf("%s: err %v, machine %+v, console %q", c.action, err, m, console.String())
			continue
		}
		// The failure is printed once, on the console; the returned error
		// does not repeat it (round 1: with fail it was printed twice).
		if n := strings.Count(console.String(), boom.Error()); n != 1 {
			t.Errorf("%s: failure printed %d times: %q", c.action, n, console.String())
		}
		if err == nil {
			continue
		}
		var stop *StopError
		if !errors.As(err, &stop) || !errors.Is(err, boom) || strings.Contains(err.Error(), boom.Error()) {
			t.Errorf("%s: returned %v", c.action, err)
		}
		if (c.machine.powerErr != nil || c.machine.shellErr != nil) != errors.Is(err, machineErr) {
			t.Errorf("%s: machine error not reachable in %v", c.action, err)
		}
	}
}
