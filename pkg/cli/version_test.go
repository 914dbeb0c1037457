package cli

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

func TestVersion(t *testing.T) {
	tool := &Tool{Name: "tool", Summary: "a tool"}
	tests := []struct {
		name   string
		linked string // the link-time value of version
		args   []string
		code   int
		stdout *regexp.Regexp
		stderr string
	}{
		{"build info", "", []string{"--version"}, ExitOK, regexp.MustCompile(`^tool \S+ go1\.[0-9.]+\S*\n$`), ""},
		{"linked", "v1.2.0", []string{"--version"}, ExitOK, regexp.MustCompile(`^tool v1\.2\.0 go1\.[0-9.]+\S*\n$`), ""},
		{"extra argument", "", []string{"--version", "build"}, ExitUsage, regexp.MustCompile(`^$`), "tool: --version takes no arguments\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v string) { version = v }(version)
			version = tc.linked
			var stdout, stderr bytes.Buffer
			code := tool.Main(context.Background(), Env{Stdout: &stdout, Stderr: &stderr}, tc.args)
			if code != tc.code || !tc.stdout.MatchString(stdout.String()) || stderr.String() != tc.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %v, %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}
}
