package bootcheck

import (
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/kcmdline"
)

// CmdlineValues returns our parameters from a kernel command line, split
// as the kernel splits it: the key without the prefix, "_" written "-" (the
// kernel and systemd treat them alike, so nix_closure_verify.on_failure is
// the same parameter). A parameter given twice with the same value counts
// once; with different values it is refused (ErrConflict), since a later
// word must not silently override the signed one. strictest is the
// strictest valid failure action among all our words (empty when none),
// for acting on an error in the line itself.
func CmdlineValues(cmdline string) (v Values, strictest Action, err error) {
	v = Values{}
	var firstErr error
	for _, p := range kcmdline.Parse(cmdline) {
		key, ours := kcmdline.CutPrefix(p.Key, Prefix)
		if !ours {
			continue
		}
		if key == "on-failure" && strictness[Action(p.Value)] != 0 {
			strictest = stricter(strictest, Action(p.Value))
		}
		if firstErr != nil {
			continue
		}
		switch old, seen := v[key]; {
		case p.Bare:
			firstErr = fmt.Errorf("%s: %w: expected %s.KEY=VALUE", p.Key, ErrBadValue, Prefix)
		case key == "":
			firstErr = fmt.Errorf("%w %s", ErrUnknownParam, p.Key)
		case seen && old != p.Value:
			firstErr = fmt.Errorf("%s.%s: %w (%q, then %q)", Prefix, key, ErrConflict, old, p.Value)
		default:
			v[key] = p.Value
		}
	}
	if firstErr != nil {
		return nil, strictest, firstErr
	}
	return v, strictest, nil
}
