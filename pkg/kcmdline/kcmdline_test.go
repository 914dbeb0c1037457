package kcmdline

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	got := Parse(" console=ttyS0  quiet x.y=\"a b\" x.z=1=2 x.y=c\n")
	want := []Param{
		{Key: "console", Value: "ttyS0"},
		{Key: "quiet", Bare: true},
		{Key: "x.y", Value: "a b"},
		{Key: "x.z", Value: "1=2"},
		{Key: "x.y", Value: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if len(Parse("")) != 0 || len(Parse("\"")) != 1 {
		t.Fatal("edge cases")
	}
}

// The cases where a naive split and the kernel's next_arg differ.
func TestParseAsKernel(t *testing.T) {
	tests := []struct {
		line string
		want []Param
	}{
		{"a\vb\fc\rd", []Param{{Key: "a", Bare: true}, {Key: "b", Bare: true}, {Key: "c", Bare: true}, {Key: "d", Bare: true}}},
		{"a\xa0b", []Param{{Key: "a", Bare: true}, {Key: "b", Bare: true}}},
		{`k="v"`, []Param{{Key: "k", Value: "v"}}},
		{`k=a"b"c`, []Param{{Key: "k", Value: `a"b"c`}}},
		{`"k=v w"`, []Param{{Key: "k", Value: "v w"}}},
		{`"bare word"`, []Param{{Key: "bare word", Bare: true}}},
		{`=x`, []Param{{Key: "=x", Bare: true}}},
		{`foo="bar nix-closure-verify.digest=x`, []Param{{Key: "foo", Value: "bar nix-closure-verify.digest=x"}}},
		{`a -- b=c`, []Param{{Key: "a", Bare: true}}},
		{`a=-- b`, []Param{{Key: "a", Value: "--"}, {Key: "b", Bare: true}}},
		// Found by FuzzParseMatchesKernel: the kernel's line is a C string.
		{"a\x00b c", []Param{{Key: "a", Bare: true}}},
	}
	for _, tc := range tests {
		if got := Parse(tc.line); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func TestSameKey(t *testing.T) {
	if !SameKey("nix_closure-verify.on_failure", "nix-closure-verify.on-failure") || SameKey("a", "b") {
		t.Fatal("SameKey")
	}
}

func TestCutPrefix(t *testing.T) {
	for _, tc := range []struct {
		key, rest string
		ok        bool
	}{
		{"nix-closure-verify.store", "store", true},
		{"nix_closure_verify.on_failure", "on-failure", true},
		{"nix-closure-verify.", "", true},
		{"nix-closure-verify", "", false},
		{"nix-closure-verifyX.store", "", false},
		{"console", "", false},
	} {
		if rest, ok := CutPrefix(tc.key, "nix-closure-verify"); rest != tc.rest || ok != tc.ok {
			t.Errorf("CutPrefix(%q) = %q, %v", tc.key, rest, ok)
		}
	}
}

func TestAppend(t *testing.T) {
	p := Param{Key: "nix-closure-verify.digest", Value: "sha256:ab"}
	for _, tc := range []struct{ line, want string }{
		{"", "nix-closure-verify.digest=sha256:ab"},
		{"\n", "nix-closure-verify.digest=sha256:ab"},
		{"console=ttyS0 quiet\n", "console=ttyS0 quiet nix-closure-verify.digest=sha256:ab"},
		{`x="a b"`, `x="a b" nix-closure-verify.digest=sha256:ab`},
	} {
		got, err := Append(tc.line, p)
		if err != nil || got != tc.want {
			t.Errorf("Append(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	long := make([]byte, MaxSize)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		line string
		want error
	}{
		{`console=ttyS0 foo="bar`, ErrQuote},
		{"a\x00b", ErrNUL},
		{string(long), ErrTooLong},
		{"nix_closure_verify.digest=x", ErrHasParam},
		{"a --", ErrNotKept},
	} {
		if _, err := Append(tc.line, p); !errors.Is(err, tc.want) {
			t.Errorf("Append(%q): %v, want %v", tc.line, err, tc.want)
		}
	}
}

func TestParseQuoteEdges(t *testing.T) {
	for line, want := range map[string][]Param{
		`k="`:   {{Key: "k"}},
		`"k="`:  {{Key: "k"}},
		`"k=v"`: {{Key: "k", Value: "v"}},
		`"`:     {{Key: "", Bare: true}},
		`""`:    {{Key: "", Bare: true}},
	} {
		if got := Parse(line); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %+v, want %+v", line, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`console=ttyS0 foo="bar`, `"k=v w" x`, "a\xa0b -- c", `k="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps := Parse(s)
		if len(ps) > len(s) {
			t.Fatalf("%d params from %d bytes", len(ps), len(s))
		}
		if out, err := Append(s, Param{Key: "x.y", Value: "z"}); err == nil {
			if got := Parse(out); len(got) == 0 || got[len(got)-1] != (Param{Key: "x.y", Value: "z"}) {
				t.Fatalf("Append(%q) = %q does not end in the parameter", s, out)
			}
		}
	})
}
