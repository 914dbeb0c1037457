package main

import (
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/closure"
)

func TestAppendParam(t *testing.T) {
	const p = "nix-closure-verify.digest=sha256:ab"
	tests := []struct{ cmdline, want string }{
		{"", p},
		{"\n", p},
		{"console=ttyS0", "console=ttyS0 " + p},
		{"console=ttyS0 quiet\n", "console=ttyS0 quiet " + p},
		{"a  \t\r\n\x00\x00", "a " + p},
	}
	for _, tc := range tests {
		if got := string(appendParam([]byte(tc.cmdline), p)); got != tc.want {
			t.Errorf("appendParam(%q) = %q, want %q", tc.cmdline, got, tc.want)
		}
	}
}

func TestHasParam(t *testing.T) {
	tests := []struct {
		cmdline string
		want    bool
	}{
		{"", false},
		{"quiet nix-closure-verify.digest=sha256:00", true},
		{"nix-closure-verify.digest", true},
		{"nix-closure-verify.digestx=1", false},
		{"x.nix-closure-verify.digest=1", false},
	}
	for _, tc := range tests {
		if got := hasParam([]byte(tc.cmdline), closure.DigestParam); got != tc.want {
			t.Errorf("hasParam(%q) = %v, want %v", tc.cmdline, got, tc.want)
		}
	}
}
