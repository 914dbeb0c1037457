package kcmdline

import (
	"reflect"
	"testing"
)

// kernelParse is a line-by-line transliteration of the kernel's parse_args
// loop and next_arg (lib/cmdline.c, Linux 6.x), written from the algorithm
// over a NUL-terminated byte buffer: it writes NULs into the buffer where
// the C code does and reads param and val back as C strings, so it keeps
// the kernel's behaviour, quirks included. It is the oracle Parse is
// compared with, not a second implementation to use.
func kernelParse(cmdline string) []Param {
	buf := append([]byte(cmdline), 0) // the C string
	cstring := func(at int) string {
		end := at
		for buf[end] != 0 {
			end++
		}
		return string(buf[at:end])
	}
	var out []Param
	args := kernelSkipSpaces(buf, 0) // parse_args: "Chew leading spaces"
	for buf[args] != 0 {
		var param, val int
		var hasVal bool
		args, param, val, hasVal = kernelNextArg(buf, args)
		if !hasVal && cstring(param) == "--" { // "Stop at --"
			break
		}
		p := Param{Key: cstring(param), Bare: !hasVal}
		if hasVal {
			p.Value = cstring(val)
		}
		out = append(out, p)
	}
	return out
}

// kernelNextArg is next_arg: args, param and val are offsets into buf.
func kernelNextArg(buf []byte, args int) (next, param, val int, hasVal bool) {
	i, equals := 0, 0
	inQuote, quoted := false, false
	if buf[args] == '"' {
		args++
		inQuote, quoted = true, true
	}
	for i = 0; buf[args+i] != 0; i++ {
		if kernelIsSpace(buf[args+i]) && !inQuote {
			break
		}
		if equals == 0 {
			if buf[args+i] == '=' {
				equals = i
			}
		}
		if buf[args+i] == '"' {
			inQuote = !inQuote
		}
	}
	param = args
	if equals != 0 {
		buf[args+equals] = 0
		val, hasVal = args+equals+1, true
		if buf[val] == '"' {
			val++
			if buf[args+i-1] == '"' {
				buf[args+i-1] = 0
			}
		}
	}
	if quoted && i > 0 && buf[args+i-1] == '"' {
		buf[args+i-1] = 0
	}
	if buf[args+i] != 0 {
		buf[args+i] = 0
		next = args + i + 1
	} else {
		next = args + i
	}
	return kernelSkipSpaces(buf, next), param, val, hasVal
}

// kernelIsSpace is isspace over lib/ctype.c's table: _S is set for 9-13,
// 32 and 160, nothing else.
func kernelIsSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0
}

func kernelSkipSpaces(buf []byte, at int) int {
	for kernelIsSpace(buf[at]) {
		at++
	}
	return at
}

// Parse agrees with the kernel on every byte string.
func FuzzParseMatchesKernel(f *testing.F) {
	for _, s := range []string{
		"", " ", `"`, `""`, `"""`, `k="`, `"k="`, `"=`, `=`, `=x`, `"--"`, "--", "a -- b",
		`BOOT_IMAGE=/vmlinuz root=UUID=0a1b ro quiet splash console=ttyS0,115200n8`,
		`foo="bar nix-closure-verify.digest=sha256:00`, `k="a b"c d`, `"k=v w" x`,
		"a\vb\fc\rd\x85e\xa0f", "a\x00b c", `dyndbg="file x.c +p" init=/bin/sh -- single`,
		`nix_closure_verify.on_failure=warn nix-closure-verify.store=off`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := Parse(s), kernelParse(s)
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q)\n got  %+v\n want %+v (the kernel's next_arg)", s, got, want)
		}
	})
}
