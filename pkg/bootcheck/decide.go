package bootcheck

import (
	"errors"
	"fmt"
)

// Errors from Decide, each a failure acted on as the configuration says.
var (
	ErrNotConfigured = errors.New("no signed settings and no " + Prefix + ".* parameters: nothing says what to check")
	ErrWeaker        = errors.New("the command line may make the check stricter, never weaker")
	ErrNotSigned     = errors.New("differs from the signed settings")
	ErrNoDigest      = errors.New("the store check has no manifest digest: the manifest cannot be tied to this image")
)

// Decide returns what the check does at boot, from the signed settings
// (settings, nil when the initrd has none) and the kernel command line,
// with the lines to print about it (where the settings came from, every
// check skipped, every setting the command line made stricter).
//
// With settings, they are authoritative: a command line word may repeat
// them, make on-failure stricter (towards halt), turn store on or turn
// fsverity on; any other difference is refused. Without settings, the
// command line is all there is, and it must say something: no parameter at
// all is refused, as is a store check without a digest. Only store=off with
// no image boots without a check, saying so.
//
// On error the returned Config's OnFailure is the strictest action known
// (from the settings and every valid on-failure word), halt when none is.
func Decide(settings Values, cmdline string) (c Config, notes []string, err error) {
	c, notes, err = merge(settings, cmdline)
	if err != nil {
		return c, notes, err
	}
	switch {
	case !c.Store && c.Image == "":
		notes = append(notes, fmt.Sprintf("%s: store check skipped (store=off) and no store image: nothing is checked", Prefix))
	case !c.Store:
		notes = append(notes, fmt.Sprintf("%s: store check skipped (store=off): the store image is verified block by block instead", Prefix))
	case c.Digest == nil:
		return c, notes, ErrNoDigest
	}
	return c, notes, nil
}

func merge(settings Values, cmdline string) (c Config, notes []string, err error) {
	cv, strictest, cerr := CmdlineValues(cmdline)
	if settings == nil {
		notes = []string{fmt.Sprintf("%s: no signed settings in the initrd: using the kernel command line", Prefix)}
		c.OnFailure = stricter(strictest, "")
		if cerr != nil {
			return c, notes, cerr
		}
		if len(cv) == 0 {
			return c, notes, ErrNotConfigured
		}
		c, err = cv.Config()
		return c, notes, err
	}
	notes = []string{fmt.Sprintf("%s: settings from the signed initrd", Prefix)}
	c, err = settings.Config()
	if err != nil {
		c.OnFailure = ActionHalt
		return c, notes, err
	}
	signed := c.OnFailure
	c.OnFailure = stricter(signed, strictest)
	if cerr != nil {
		return c, notes, cerr
	}
	for _, k := range cv.keys() {
		set, known := setters[k]
		if !known {
			return c, notes, fmt.Errorf("%w %s.%s", ErrUnknownParam, Prefix, k)
		}
		if err := set(&Config{}, cv[k]); err != nil {
			return c, notes, fmt.Errorf("%s.%s=%q: %w", Prefix, k, cv[k], err)
		}
		want, has := settings[k]
		if !has {
			want, has = defaults[k]
		}
		got := cv[k]
		if has && got == want {
			continue
		}
		switch {
		case k == "on-failure" && strictness[Action(got)] > strictness[signed]:
			notes = append(notes, fmt.Sprintf("%s: on-failure=%s from the kernel command line (stricter than the signed %s)", Prefix, got, signed))
		case k == "store" && got == "on":
			c.Store = true
			notes = append(notes, fmt.Sprintf("%s: store=on from the kernel command line (the signed settings say off)", Prefix))
		case k == "fsverity" && got == "on":
			c.FSVerity = true
			notes = append(notes, fmt.Sprintf("%s: fsverity=on from the kernel command line (the signed settings do not ask for it)", Prefix))
		case k == "on-failure" || k == "store" || k == "fsverity":
			return c, notes, fmt.Errorf("%s.%s=%q: %w (signed: %q)", Prefix, k, got, ErrWeaker, want)
		case has:
			return c, notes, fmt.Errorf("%s.%s=%q on the kernel command line: %w (%q)", Prefix, k, got, ErrNotSigned, want)
		default:
			return c, notes, fmt.Errorf("%s.%s=%q on the kernel command line: %w (not set there)", Prefix, k, got, ErrNotSigned)
		}
	}
	// A stricter word can still ask for what the settings cannot do
	// (fsverity=on where they say store=off): that is not a pass either.
	return c, notes, c.consistent(settings)
}
