package measure

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// Rules says which UKI sections one systemd-stub version measures into
// PCR 11, and in which order.
type Rules struct {
	// Version is the systemd major version these rules are for.
	Version int
	// Sections lists the measured section names in the order the stub
	// extends them (its canonical order, not the file order).
	Sections []string
}

// Measures reports whether the stub measures the named section.
func (r Rules) Measures(name string) bool { return slices.Contains(r.Sections, name) }

// ruleTable maps the first systemd version of each rule set to the sections
// it measures; a version uses the entry with the largest start not above
// it. See the package documentation for where each step comes from.
var ruleTable = []Rules{
	{252, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionSplash, uki.SectionDTB, uki.SectionPCRPKey}},
	{254, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey}},
	{256, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey}},
	{257, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey, uki.SectionProfile, uki.SectionDTBAuto, uki.SectionHWIDs}},
	{258, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey, uki.SectionProfile, uki.SectionDTBAuto, uki.SectionHWIDs, uki.SectionEFIFW}},
}

// Known stub versions: older stubs do not measure into PCR 11 the way
// systemd-measure predicts; newer ones may measure sections we do not know.
const (
	MinStubVersion = 252
	MaxStubVersion = 258
)

// RulesForVersion returns the rules of a systemd major version.
func RulesForVersion(major int) (Rules, error) {
	if major < MinStubVersion || major > MaxStubVersion {
		return Rules{}, fmt.Errorf("systemd-stub %d: %w (known: %d to %d)", major, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion)
	}
	var r Rules
	for _, e := range ruleTable {
		if e.Version <= major {
			r = e
		}
	}
	return Rules{Version: major, Sections: slices.Clone(r.Sections)}, nil
}

// RulesFor returns the rules for a stub version given as its full .sdmagic
// string ("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####") or as the
// bare version ("252.39-1~deb12u2", "257~rc2", "258"). A version outside the
// table is refused with an error naming it.
func RulesFor(stubVersion string) (Rules, error) {
	v := strings.TrimSpace(strings.TrimRight(stubVersion, "\x00"))
	if strings.HasPrefix(v, "#") {
		var err error
		if v, err = StubVersion([]byte(v)); err != nil {
			return Rules{}, err
		}
	}
	major, err := majorVersion(v)
	if err != nil {
		return Rules{}, err
	}
	r, err := RulesForVersion(major)
	if err != nil {
		return Rules{}, fmt.Errorf("systemd-stub %q: %w (known: %d to %d)", v, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion)
	}
	return r, nil
}

// StubVersion extracts the version from the contents of a stub's .sdmagic
// section, which may carry NUL padding up to its raw size.
func StubVersion(sdmagic []byte) (string, error) {
	if i := bytes.IndexByte(sdmagic, 0); i >= 0 {
		sdmagic = sdmagic[:i]
	}
	s := strings.TrimSpace(string(sdmagic))
	rest, ok := strings.CutPrefix(s, strings.TrimSpace(sdmagicPrefix))
	if !ok {
		return "", fmt.Errorf("%q: %w", truncate(s, 80), ErrNoStubVersion)
	}
	rest, ok = strings.CutSuffix(rest, strings.TrimSpace(sdmagicSuffix))
	if !ok {
		return "", fmt.Errorf("%q: %w", truncate(s, 80), ErrNoStubVersion)
	}
	v := strings.TrimSpace(rest)
	if v == "" || strings.ContainsAny(v, " \t") {
		return "", fmt.Errorf("%q: %w", truncate(s, 80), ErrNoStubVersion)
	}
	return v, nil
}

// majorVersion reads the leading decimal number of a systemd version
// ("252.39-1~deb12u2" -> 252, "257~rc2" -> 257).
func majorVersion(v string) (int, error) {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 || end > 6 {
		return 0, fmt.Errorf("systemd-stub version %q: %w: no major version number", truncate(v, 80), ErrUnknownStubVersion)
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, fmt.Errorf("systemd-stub version %q: %w", truncate(v, 80), ErrUnknownStubVersion)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
