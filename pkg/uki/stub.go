package uki

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Errors callers branch on.
var (
	ErrNoStub     = errors.New("no systemd-stub found")
	ErrSignedStub = errors.New("the stub is already signed; give build an unsigned stub (a signature would not survive adding sections)")
	ErrNotStub    = errors.New("not a systemd-stub: no .sdmagic section")
)

// FindStub returns the first of DefaultStubPaths that exists.
func FindStub() (string, error) {
	for _, p := range DefaultStubPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w in %s; install systemd-boot-efi or pass --stub", ErrNoStub, strings.Join(DefaultStubPaths, ", "))
}

// StubVersion returns the version in a stub's .sdmagic section, e.g.
// "systemd-stub 252.39-1~deb12u2".
func StubVersion(stub []byte) (StubInfo, error) {
	f, err := pe.NewFile(bytes.NewReader(stub), int64(len(stub)))
	if err != nil {
		return StubInfo{}, err
	}
	return ReadStubInfo(f)
}
