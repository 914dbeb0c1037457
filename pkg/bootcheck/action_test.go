package bootcheck

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

type fakeMachine struct{ poweredOff, shell int }

func (f *fakeMachine) PowerOff() error { f.poweredOff++; return nil }
func (f *fakeMachine) Shell() error    { f.shell++; return nil }

func TestFailActions(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		action        Action
		wantErr       bool
		poweroff, sh  int
		consoleSubstr string
	}{
		{ActionHalt, true, 1, 0, "boot stopped"},
		{ActionWarn, false, 0, 0, "WARNING"},
		{ActionShell, false, 0, 1, "emergency shell"},
		{ActionFail, true, 0, 0, "boom"},
	}
	for _, c := range cases {
		var console bytes.Buffer
		m := &fakeMachine{}
		err := Fail(c.action, boom, &console, m)
		if (err != nil) != c.wantErr || m.poweredOff != c.poweroff || m.shell != c.sh ||
			!strings.Contains(console.String(), c.consoleSubstr) || !strings.Contains(console.String(), "boom") {
			t.Errorf("%s: err %v, machine %+v, console %q", c.action, err, m, console.String())
		}
	}
}
