package measure

import (
	"fmt"
	"slices"
	"strings"
)

// Phase is a boot phase path: the words systemd-pcrphase extends into
// PCR 11 after the stub, in order, e.g. "enter-initrd:leave-initrd". The
// empty Phase is the state right after the stub, before any word (what a
// plain busybox initrd sees); systemd-measure writes it as ":".
type Phase string

// Words returns the phase path's words in extension order.
func (p Phase) Words() []string {
	if p == "" {
		return nil
	}
	return strings.Split(string(p), phaseSeparator)
}

// String returns the phase path, ":" for the empty one (systemd-measure's
// spelling).
func (p Phase) String() string {
	if p == "" {
		return phaseSeparator
	}
	return string(p)
}

// DefaultPhases returns systemd-measure's default phase paths.
func DefaultPhases() []Phase {
	ps := make([]Phase, len(defaultPhasePaths))
	for i, s := range defaultPhasePaths {
		ps[i] = Phase(s)
	}
	return ps
}

// ParsePhase parses one phase path. Empty words are dropped, as
// systemd-measure does, so "::enter-initrd:" is "enter-initrd" and ":" is the
// empty path; every other word must be one systemd-pcrphase measures.
func ParsePhase(s string) (Phase, error) {
	var words []string
	for _, w := range strings.Split(s, phaseSeparator) {
		if w == "" {
			continue
		}
		if !slices.Contains(knownPhaseWords, w) {
			return "", fmt.Errorf("phase path %q: word %q: %w", s, w, ErrUnknownPhase)
		}
		words = append(words, w)
	}
	return Phase(strings.Join(words, phaseSeparator)), nil
}

// ParsePhases parses phase paths; each argument may hold several separated
// by commas or white space (as ukify's --phases). The result is sorted and
// without duplicates, the order systemd-measure uses; no argument at all
// gives DefaultPhases.
func ParsePhases(args ...string) ([]Phase, error) {
	var phases []Phase
	for _, a := range args {
		for _, f := range splitList(a) {
			p, err := ParsePhase(f)
			if err != nil {
				return nil, err
			}
			phases = append(phases, p)
		}
	}
	if len(phases) == 0 {
		return DefaultPhases(), nil
	}
	slices.Sort(phases)
	return slices.Compact(phases), nil
}
