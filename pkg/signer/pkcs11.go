package signer

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
	"github.com/nix-boot-security/nix-boot-security/pkg/pkcs11uri"
)

// ModuleDirs are searched, in order, for module-name=NAME (NAME.so, then
// libNAME.so) and for p11-kit's proxy when the URI names no module. A test
// or a distribution may change it.
var ModuleDirs = []string{
	"/run/current-system/sw/lib/pkcs11", // NixOS
	"/run/current-system/sw/lib",
	"/usr/lib/x86_64-linux-gnu/pkcs11", // Debian, p11-kit's layout
	"/usr/lib/x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu/pkcs11",
	"/usr/lib/aarch64-linux-gnu",
	"/usr/lib64/pkcs11",
	"/usr/lib/pkcs11",
	"/usr/lib64",
	"/usr/lib",
}

// proxyModule is p11-kit's proxy, which offers every module p11-kit has
// registered: the default when the URI names none.
const proxyModule = "p11-kit-proxy"

// maxPIN bounds what is read of a PIN file.
const maxPIN = 1024

// pkcs11Module returns the module library to load.
func pkcs11Module(u *pkcs11uri.URI) (string, error) {
	if u.ModulePath != "" {
		if !filepath.IsAbs(u.ModulePath) {
			return "", fmt.Errorf("%w: module-path %q is not absolute", ErrReference, u.ModulePath)
		}
		return u.ModulePath, nil
	}
	name := u.ModuleName
	if name == "" {
		name = proxyModule
	}
	if name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("%w: module-name %q is not a plain name (use module-path for a path)", ErrReference, name)
	}
	for _, dir := range ModuleDirs {
		for _, file := range []string{name + ".so", "lib" + name + ".so"} {
			p := filepath.Join(dir, file)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	if u.ModuleName == "" {
		return "", fmt.Errorf("%w: the URI names no module and p11-kit's proxy (%s.so) is not installed; add ?module-path=/path/to/module.so", ErrReference, proxyModule)
	}
	return "", fmt.Errorf("%w: PKCS#11 module %q not found in %v; use module-path", ErrReference, name, ModuleDirs)
}

// pkcs11PIN returns the PIN, from pin-source, pin-value (when allowed) or
// the environment, and warnings about where it was read.
func pkcs11PIN(u *pkcs11uri.URI, opts *Options) (pin string, warnings []string, err error) {
	file, err := u.PINFile()
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrReference, err)
	}
	given := 0
	for _, b := range []bool{file != "", u.HasPINValue} {
		if b {
			given++
		}
	}
	if given > 1 {
		return "", nil, fmt.Errorf("%w: give pin-source or pin-value, not both", ErrReference)
	}
	switch {
	case u.HasPINValue:
		if !opts.AllowPINValue {
			return "", nil, ErrPINValue
		}
		return u.PINValue, nil, nil
	case file != "":
		return readPINFile(file)
	}
	// An empty variable counts as unset: "VAR= cmd" is how a shell
	// script clears it.
	if v, ok := opts.lookupEnv(opts.pinEnv()); ok && v != "" {
		return v, nil, nil
	}
	return "", nil, fmt.Errorf("%w: add pin-source=file:PATH to the URI or set %s", ErrNoPIN, opts.pinEnv())
}

// readPINFile reads a PIN file: its first line, without the line end.
func readPINFile(path string) (string, []string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", nil, fmt.Errorf("reading PIN: %w", err)
	}
	defer f.Close()
	if err := keys.RefuseInStore(path, f); err != nil {
		return "", nil, fmt.Errorf("PIN file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return "", nil, fmt.Errorf("reading PIN: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", nil, fmt.Errorf("PIN file %s is not a regular file", path)
	}
	var warnings []string
	if fi.Mode().Perm()&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("PIN file %s is readable by group or others (mode %04o); chmod 600 it", path, fi.Mode().Perm()))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPIN+1))
	if err != nil {
		return "", nil, fmt.Errorf("reading PIN: %w", err)
	}
	if len(data) > maxPIN {
		return "", nil, fmt.Errorf("PIN file %s holds more than %d bytes", path, maxPIN)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), warnings, nil
}

// checkPKCS11Selectors checks how the URI names its token (exactly one of
// token, serial and slot-id) and its key (object or id).
func checkPKCS11Selectors(u *pkcs11uri.URI) error {
	n := 0
	for _, b := range []bool{u.Token != "", u.Serial != "", u.SlotID != nil} {
		if b {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: name the token by exactly one of token=, serial= and slot-id= (got %d)", ErrReference, n)
	}
	if u.Object == "" && u.ID == nil {
		return fmt.Errorf("%w: name the key by object= (its label) or id=", ErrReference)
	}
	if u.Manufacturer != "" || u.Model != "" {
		return fmt.Errorf("%w: manufacturer= and model= are not supported; name the token by token=, serial= or slot-id=", ErrReference)
	}
	return nil
}
