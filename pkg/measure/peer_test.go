package measure

import (
	"bytes"
	"context"
	"crypto/rsa"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/tpm/swtpm"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

// systemdMeasure is Debian 12's systemd-measure (systemd 252), the peer
// whose output these tests compare with.
const systemdMeasure = "/usr/lib/systemd/systemd-measure"

// needPeer skips the test when a peer tool is missing, except in CI, where
// scripts/deps installs everything and a missing tool is a failure.
func needPeer(t *testing.T, path, pkg string) {
	t.Helper()
	var err error
	if strings.Contains(path, "/") {
		_, err = os.Stat(path)
	} else {
		_, err = exec.LookPath(path)
	}
	if err == nil {
		return
	}
	peer.Missing(t, "%s missing (Debian package %s)", path, pkg)
}

// startSWTPM starts a fresh swtpm for the test.
func startSWTPM(t *testing.T) *swtpm.Emulator {
	t.Helper()
	needPeer(t, "swtpm", "swtpm")
	ctx, cancel := context.WithCancel(context.Background())
	e, err := swtpm.Start(ctx, t.TempDir())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); cancel() })
	return e
}

// runMeasure runs systemd-measure and returns its stdout.
func runMeasure(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(systemdMeasure, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("systemd-measure %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// testKey is one RSA 2048 key for the whole test binary, with its PEM files.
type testKey struct {
	priv    *rsa.PrivateKey
	privPEM string
	pubPEM  string
}

func newTestKey(t *testing.T) testKey {
	t.Helper()
	k := testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
	dir := t.TempDir()
	priv := filepath.Join(dir, "key.pem")
	testcert.WriteKey(t, priv, k)
	pubBytes, err := PublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pub, pubBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return testKey{priv: k, privPEM: priv, pubPEM: pub}
}

// image is a set of UKI section contents by name, written to files for
// systemd-measure.
type image map[string][]byte

// sections returns the image as Sections, in a fixed (file-like, not
// canonical) order, to show that Predict applies the stub's order.
func (im image) sections() []Section {
	var out []Section
	for _, name := range []string{uki.SectionPCRSig, uki.SectionSBAT, uki.SectionUname, uki.SectionPCRPKey, uki.SectionDTB, uki.SectionSplash, uki.SectionInitrd, uki.SectionCmdline, uki.SectionOSRel, uki.SectionLinux} {
		if data, ok := im[name]; ok {
			out = append(out, BytesSection(name, data))
		}
	}
	return out
}

// measureArgs writes the sections systemd-measure 252 knows to dir and
// returns its section options.
func (im image) measureArgs(t *testing.T, dir string) []string {
	t.Helper()
	var args []string
	for _, name := range []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionSplash, uki.SectionDTB, uki.SectionPCRPKey} {
		data, ok := im[name]
		if !ok {
			continue
		}
		p := filepath.Join(dir, strings.TrimPrefix(name, "."))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--"+strings.TrimPrefix(name, ".")+"="+p)
	}
	return args
}

// pseudoRandom returns n deterministic bytes.
func pseudoRandom(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
