// Package softhsm sets up SoftHSM2 tokens for tests: a token in a private
// directory (SOFTHSM2_CONF points at its own configuration), with key pairs
// generated on it by OpenSC's pkcs11-tool, the same peer a user would use.
// Outside CI a missing SoftHSM2 or pkcs11-tool skips the test (internal/peer).
//
// It is for tests only; it trusts the tools it runs.
package softhsm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// Module is Debian's SoftHSM2 PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is an initialised SoftHSM2 token.
type Token struct {
	Label string
	PIN   string
	// Conf is the SOFTHSM2_CONF file; Env is "SOFTHSM2_CONF=" + Conf, for
	// child processes.
	Conf string
	Env  string
	// PINFile holds PIN (mode 0600).
	PINFile string
}

// New initialises a token labelled label with user PIN pin in a fresh
// directory and points this process's SOFTHSM2_CONF at it (t.Setenv, so
// the test must not be parallel).
func New(t testing.TB, label, pin string) *Token {
	t.Helper()
	peer.Tool(t, "softhsm2-util")
	peer.Tool(t, "pkcs11-tool")
	if _, err := os.Stat(Module); err != nil {
		peer.Missing(t, "SoftHSM2 module %s not installed", Module)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	cfg := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := &Token{Label: label, PIN: pin, Conf: conf, Env: "SOFTHSM2_CONF=" + conf, PINFile: filepath.Join(dir, "pin")}
	if err := os.WriteFile(tok.PINFile, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	tok.run(t, "softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "so-"+pin, "--pin", pin)
	return tok
}

// GenerateKey makes a key pair labelled label with CKA_ID id on the token:
// keyType is pkcs11-tool's ("rsa:2048", "EC:prime256v1").
func (tok *Token) GenerateKey(t testing.TB, keyType, label, id string) {
	t.Helper()
	tok.run(t, "pkcs11-tool", "--module", Module, "--token-label", tok.Label, "--login", "--pin", tok.PIN,
		"--keypairgen", "--key-type", keyType, "--label", label, "--id", id)
}

// URI is the pkcs11: reference to the key labelled label, its PIN read
// from PINFile.
func (tok *Token) URI(label string) string {
	return "pkcs11:token=" + tok.Label + ";object=" + label + "?module-path=" + Module + "&pin-source=file:" + tok.PINFile
}

func (tok *Token) run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), tok.Env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
