package measure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// Rules says which UKI sections one systemd-stub version measures into
// PCR 11, and in which order.
type Rules struct {
	// Version is the systemd major version of the stub these rules are
	// for.
	Version int
	// Sections lists the measured section names in the order the stub
	// extends them (its canonical order, not the file order).
	Sections []string
	// From is the major version of the table entry the rules come from:
	// Version itself, the start of its range, or, for a stub newer than
	// the newest known whose own section table equals that one's, the
	// newest known (then Warning says so).
	From int
	// Proven names the peers the rule set was checked against here
	// ("" for rules read from systemd's sources only).
	Proven string
	// Warning is set when the rules are assumed rather than known.
	Warning string
	// SignSHA256: systemd-measure of this version signs every bank's
	// policy with SHA-256 (260 and later), not with the bank's hash.
	SignSHA256 bool
}

// SignSHA256Since is the first systemd whose systemd-measure signs every
// bank's policy with SHA-256 (systemd PR 41051, merged for 260; 262 does).
const SignSHA256Since = 260

// Measures reports whether the stub measures the named section.
func (r Rules) Measures(name string) bool { return slices.Contains(r.Sections, name) }

// String names the rule set: "systemd-stub 257 rules", with where they come
// from when that is not the version itself.
func (r Rules) String() string {
	s := fmt.Sprintf("systemd-stub %d rules", r.From)
	if r.Proven != "" {
		s += " (proven against " + r.Proven + ")"
	} else {
		s += " (from systemd's sources)"
	}
	return s
}

// ruleSet is one row of the table: the first version of a rule set, the
// stub's own list of section names (uki.ReadStubSections, .pcrsig
// included), and what proved it here.
type ruleSet struct {
	version int
	table   []string
	proven  string
}

// ruleTable: a version uses the row with the largest start not above it.
// The tables of 252, 254, 257 and 262 were read from Debian's stubs
// (252.39-1~deb12u2, 254.26-1~bpo12+1, 257.13-1~deb13u1, 262.1-1) and the
// rules proven by systemd-measure of the same version and by booting them
// (see the package documentation); 256 and 258 come from systemd's
// sources (src/fundamental/uki.h), and 258's table is the one 262 has.
var ruleTable = []ruleSet{
	{252, []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrsig", ".pcrpkey"},
		"systemd-measure 252 and a boot"},
	{254, []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey"},
		"systemd-measure 254 and a boot"},
	{256, []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey"},
		""},
	{257, []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids"},
		"systemd-measure 257, ukify 257 and a boot"},
	{258, []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw"},
		""},
	{262, []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrsig", ".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw"},
		"systemd-measure 262, ukify 262 and a boot"},
}

// Known stub versions: older stubs do not measure into PCR 11 the way
// systemd-measure predicts; a newer one is accepted only when its own
// section table equals the newest known one's (RulesForImage).
const (
	MinStubVersion = 252
	MaxStubVersion = 262
)

// measured is the stub's table without .pcrsig, which no stub measures (it
// holds signatures of the result).
func measured(table []string) []string {
	var out []string
	for _, n := range table {
		if n != uki.SectionPCRSig {
			out = append(out, n)
		}
	}
	return out
}

func row(major int) ruleSet {
	var r ruleSet
	for _, e := range ruleTable {
		if e.version <= major {
			r = e
		}
	}
	return r
}

// RulesForVersion returns the rules of a systemd major version.
func RulesForVersion(major int) (Rules, error) {
	if major < MinStubVersion || major > MaxStubVersion {
		return Rules{}, fmt.Errorf("systemd-stub %d: %w (known: %d to %d)", major, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion)
	}
	r := row(major)
	proven := ""
	if r.version == major {
		proven = r.proven
	}
	return Rules{Version: major, Sections: measured(r.table), From: r.version, Proven: proven, SignSHA256: major >= SignSHA256Since}, nil
}

// RulesFor returns the rules for a stub version given as its full .sdmagic
// string ("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####", parsed by
// uki.ParseSDMagic) or as the bare version ("252.39-1~deb12u2", "257~rc2",
// "258"). A version outside the table is refused with an error naming it.
func RulesFor(stubVersion string) (Rules, error) {
	v := strings.TrimSpace(strings.TrimRight(stubVersion, "\x00"))
	if strings.HasPrefix(v, "#") {
		info, err := uki.ParseSDMagic([]byte(v))
		if err != nil {
			return Rules{}, fmt.Errorf("%w: %w", ErrNoStubVersion, err)
		}
		return RulesForStub(info)
	}
	return RulesForStub(uki.StubInfo{Loader: uki.LoaderStub, Version: v})
}

// RulesForStub returns the rules for the stub a .sdmagic describes (see
// uki.ReadStubInfo); anything but systemd-stub gives ErrNoStubVersion.
// Without the stub itself, a version newer than MaxStubVersion is refused:
// RulesForImage can accept one after reading its section table.
func RulesForStub(info uki.StubInfo) (Rules, error) {
	major, err := stubMajor(info)
	if err != nil {
		return Rules{}, err
	}
	r, err := RulesForVersion(major)
	if err != nil {
		return Rules{}, fmt.Errorf("systemd-stub %q: %w (known: %d to %d)", info.Version, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion)
	}
	return r, nil
}

func stubMajor(info uki.StubInfo) (int, error) {
	if !info.IsStub() {
		if info.Loader == "" {
			return 0, fmt.Errorf("the stub has no .sdmagic version: %w", ErrNoStubVersion)
		}
		return 0, fmt.Errorf("%s: %w", info, ErrNoStubVersion)
	}
	major := info.Major()
	if major == 0 {
		return 0, fmt.Errorf("systemd-stub version %q: %w: no major version number", truncate(info.Version, 80), ErrUnknownStubVersion)
	}
	return major, nil
}

// RulesForImage returns the rules of the stub in f, a stub or a UKI built
// on one: its .sdmagic names the version, and its own table of section
// names (uki.ReadStubSections) must agree with the rules. A known version
// whose table says otherwise (a patched stub) is refused with
// ErrStubTableMismatch; when the table cannot be found the version alone
// decides. A version newer than MaxStubVersion is accepted, with
// Rules.Warning set, only when its table equals the newest known one's;
// otherwise it is refused, saying what differs and what to do.
func RulesForImage(f *pe.File) (Rules, error) {
	info, err := uki.ReadStubInfo(f)
	if err != nil {
		return Rules{}, fmt.Errorf("%w: %w", ErrNoStubVersion, err)
	}
	major, err := stubMajor(info)
	if err != nil {
		return Rules{}, err
	}
	table, tableErr := uki.ReadStubSections(f)
	if major > MaxStubVersion {
		newest := ruleTable[len(ruleTable)-1]
		if tableErr != nil {
			return Rules{}, fmt.Errorf("systemd-stub %q is newer than the newest known (%d) and its section table cannot be read (%v): %w; build on a stub of version %d to %d, or use a nix-uki that knows %d",
				info.Version, MaxStubVersion, tableErr, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion, major)
		}
		if !slices.Equal(table, newest.table) {
			return Rules{}, fmt.Errorf("systemd-stub %q is newer than the newest known (%d) and knows other sections (%s; %d knows %s): %w: its PCR 11 cannot be predicted; build on a stub of version %d to %d, or use a nix-uki that knows %d",
				info.Version, MaxStubVersion, strings.Join(table, " "), newest.version, strings.Join(newest.table, " "), ErrUnknownStubVersion, MinStubVersion, MaxStubVersion, major)
		}
		return Rules{
			Version: major, Sections: measured(newest.table), From: newest.version, Proven: newest.proven, SignSHA256: true,
			Warning: fmt.Sprintf("systemd-stub %s is newer than the newest known (%d); its section table equals %d's, so %d's rules are used", info.Version, MaxStubVersion, newest.version, newest.version),
		}, nil
	}
	r, err := RulesForVersion(major)
	if err != nil {
		return Rules{}, fmt.Errorf("systemd-stub %q: %w (known: %d to %d)", info.Version, ErrUnknownStubVersion, MinStubVersion, MaxStubVersion)
	}
	if tableErr == nil && !slices.Equal(measured(table), r.Sections) {
		return Rules{}, fmt.Errorf("systemd-stub %q lists the sections %s, but version %d measures %s: %w",
			info.Version, strings.Join(table, " "), major, strings.Join(r.Sections, " "), ErrStubTableMismatch)
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
