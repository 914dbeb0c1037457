// Package kcmdline reads and writes the Linux kernel command line the way
// the kernel splits it (kernel/params.c: next_arg and parse_args): words
// separated by white space as the kernel's isspace knows it (space, \t, \n,
// \v, \f, \r and the Latin-1 no-break space 0xA0); a double quote toggles
// quoting, so key="a b" is one word; one quote pair around the value (or
// around the whole word) is removed, every other quote stays; the first "="
// after the first byte splits key and value; a bare "--" ends the kernel's
// parameters (the rest belongs to init), as does a NUL.
//
// The command line of a signed UKI is part of what the firmware verified,
// but a stub may append words it did not sign (see README: which stub
// features extend the command line), so values read here are validated by
// the caller. Parse never fails on odd input; Append refuses a line that
// would not split back into what the caller meant.
package kcmdline

import (
	"errors"
	"fmt"
	"strings"
)

// MaxSize is the longest command line the x86 kernel keeps
// (COMMAND_LINE_SIZE 2048, including the terminating NUL); the rest is cut.
const MaxSize = 2047

// Param is one word of the command line.
type Param struct {
	Key   string
	Value string
	Bare  bool // no "=" in the word
}

// String renders the parameter as a word that Parse reads back, quoting a
// value that holds white space.
func (p Param) String() string {
	if p.Bare {
		return p.Key
	}
	if strings.IndexFunc(p.Value, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) >= 0 || strings.ContainsRune(p.Value, 0xA0) {
		return p.Key + `="` + p.Value + `"`
	}
	return p.Key + "=" + p.Value
}

// isSpace is the kernel's isspace (lib/ctype.c), on bytes.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xA0:
		return true
	}
	return false
}

func skipSpaces(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// nextArg splits the first word off s, as the kernel's next_arg does.
func nextArg(s string) (p Param, rest string) {
	quoted := false
	if strings.HasPrefix(s, `"`) {
		s, quoted = s[1:], true
	}
	inQuote, equals, i := quoted, 0, 0
	for ; i < len(s); i++ {
		if isSpace(s[i]) && !inQuote {
			break
		}
		// The kernel takes the first '=' after the first byte: "=x" is a
		// key with no value.
		if equals == 0 && s[i] == '=' {
			equals = i
		}
		if s[i] == '"' {
			inQuote = !inQuote
		}
	}
	word := s[:i]
	stripped := false // the kernel wrote a NUL over the word's last quote
	if equals == 0 {
		p = Param{Key: word, Bare: true}
	} else {
		p = Param{Key: word[:equals]}
		val := word[equals+1:]
		if strings.HasPrefix(val, `"`) {
			val = val[1:]
			// The kernel clears the word's last byte if it is a quote,
			// which may be the opening quote itself (k=").
			if s[i-1] == '"' {
				stripped = true
				if val != "" {
					val = val[:len(val)-1]
				}
			}
		}
		p.Value = val
	}
	// A word that began with a quote loses a quote at its end too, unless
	// that byte is already gone (the value's quote, or the '=').
	if quoted && !stripped && i > 0 && s[i-1] == '"' {
		if p.Bare {
			p.Key = p.Key[:len(p.Key)-1]
		} else if i-1 > equals {
			p.Value = p.Value[:len(p.Value)-1]
		}
	}
	if i < len(s) {
		i++ // the white space that ended the word
	}
	return p, skipSpaces(s[i:])
}

// Parse splits a command line into the kernel's parameters, in order,
// stopping at a bare "--" (what follows is init's) and at a NUL (the
// kernel's command line is a C string: nothing after a NUL reaches it).
func Parse(cmdline string) []Param {
	if i := strings.IndexByte(cmdline, 0); i >= 0 {
		cmdline = cmdline[:i]
	}
	var out []Param
	s := skipSpaces(cmdline)
	for s != "" {
		var p Param
		p, s = nextArg(s)
		if p.Bare && p.Key == "--" {
			break
		}
		out = append(out, p)
	}
	return out
}

// SameKey reports whether two keys name the same parameter: the kernel
// (parameq) and systemd treat "-" and "_" in names as equal.
func SameKey(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if x != y {
			return false
		}
	}
	return true
}

// CutPrefix reports whether key is in the namespace prefix ("prefix." with
// "-" and "_" equal) and returns the rest of it, "_" written "-". There is
// deliberately no lookup here: a later word overriding an earlier one is
// the kernel's rule for its own parameters, and the wrong one for a
// setting a signed line gave (see pkg/bootcheck).
func CutPrefix(key, prefix string) (rest string, ok bool) {
	n := len(prefix) + 1
	if len(key) < n || !SameKey(key[:n], prefix+".") {
		return "", false
	}
	return strings.ReplaceAll(key[n:], "_", "-"), true
}

// Errors from Append.
var (
	ErrNUL      = errors.New("command line contains a NUL byte")
	ErrTooLong  = fmt.Errorf("command line longer than %d bytes", MaxSize)
	ErrQuote    = errors.New("command line has an unbalanced double quote")
	ErrNotKept  = errors.New("parameter would not survive the kernel's parsing")
	ErrHasParam = errors.New("command line already sets the parameter")
)

// Append adds params to a command line after dropping its trailing white
// space and NULs (a line read from a file usually ends in a newline), and
// proves the result: parsed the way the kernel parses it, the line must end
// in exactly these parameters, none of which the line set before, within
// MaxSize. A line with a NUL inside, an unbalanced quote, or one that would
// swallow the new words is refused, so a parameter a tool adds to a signed
// command line is always seen at boot.
func Append(cmdline string, params ...Param) (string, error) {
	base := strings.TrimRight(cmdline, " \t\n\v\f\r\x00")
	if strings.IndexByte(base, 0) >= 0 {
		return "", ErrNUL
	}
	if strings.Count(base, `"`)%2 != 0 {
		return "", ErrQuote
	}
	before := Parse(base)
	words := make([]string, 0, len(params)+1)
	if base != "" {
		words = append(words, base)
	}
	for _, p := range params {
		for _, b := range before {
			if SameKey(b.Key, p.Key) {
				return "", fmt.Errorf("%w %s", ErrHasParam, p.Key)
			}
		}
		words = append(words, p.String())
	}
	out := strings.Join(words, " ")
	if len(out) > MaxSize {
		return "", fmt.Errorf("%w (%d)", ErrTooLong, len(out))
	}
	after := Parse(out)
	if len(after) != len(before)+len(params) {
		return "", fmt.Errorf("%w: %q", ErrNotKept, out)
	}
	for i, p := range params {
		if after[len(before)+i] != p {
			return "", fmt.Errorf("%w: %s", ErrNotKept, p)
		}
	}
	return out, nil
}
