// Package kcmdline parses the Linux kernel command line (/proc/cmdline) the
// way the kernel splits it: words separated by spaces, double quotes
// grouping spaces into a word (key="a b"), key=value or bare flags.
//
// The command line of a signed UKI is part of what the firmware verified,
// so values read here are trusted as much as the UKI; they are still
// validated by the caller, and parsing never fails on odd input.
package kcmdline

import "strings"

// Param is one word of the command line.
type Param struct {
	Key   string
	Value string
	Bare  bool // no "=" in the word
}

// Parse splits a command line into parameters, in order.
func Parse(cmdline string) []Param {
	var out []Param
	for _, w := range words(cmdline) {
		k, v, ok := strings.Cut(w, "=")
		out = append(out, Param{Key: unquote(k), Value: unquote(v), Bare: !ok})
	}
	return out
}

// Lookup returns the value of the last occurrence of key, as the kernel and
// systemd let a later word override an earlier one.
func Lookup(params []Param, key string) (string, bool) {
	val, found := "", false
	for _, p := range params {
		if p.Key == key {
			val, found = p.Value, true
		}
	}
	return val, found
}

// WithPrefix returns the parameters whose keys start with prefix+".", with
// the prefix removed, later words overriding earlier ones.
func WithPrefix(params []Param, prefix string) map[string]string {
	out := map[string]string{}
	for _, p := range params {
		if rest, ok := strings.CutPrefix(p.Key, prefix+"."); ok {
			out[rest] = p.Value
		}
	}
	return out
}

func words(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			inWord = true
			cur.WriteByte(c)
		case !inQuote && (c == ' ' || c == '\t' || c == '\n'):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

func unquote(s string) string { return strings.ReplaceAll(s, `"`, "") }
