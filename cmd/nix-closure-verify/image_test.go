package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/nix-boot-security/nix-boot-security/internal/peer"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
)

// runImageCmd runs `nix-closure-verify image ARGS` in process and returns
// stdout, stderr and the exit status, as Tool.Main would.
func runImageCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
	tl := &cli.Tool{Name: toolName, Commands: []cli.Command{imageCommand()}}
	code := tl.Main(context.Background(), env, append([]string{"image"}, args...))
	return out.String(), errb.String(), code
}

func makeTestImage(t *testing.T, path string, blocks int, extra int) []byte {
	t.Helper()
	b := make([]byte, blocks*4096+extra)
	r := rand.New(rand.NewPCG(uint64(blocks), uint64(extra)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	imgSalt = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
	imgUUID = "01234567-89ab-4def-8123-456789abcdef"
)

var keyLine = regexp.MustCompile(`(?m)^([a-z-]+): (.*)$`)

func keyValues(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range keyLine.FindAllStringSubmatch(s, -1) {
		m[kv[1]] = kv[2]
	}
	return m
}

// The command's hash file is byte-identical to veritysetup's, and both print
// the same root hash.
func TestImageFormatMatchesVeritysetup(t *testing.T) {
	vs := peer.Tool(t, "veritysetup")
	for _, blocks := range []int{1, 128, 129, 16385} {
		t.Run(fmt.Sprint(blocks), func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "store.img")
			makeTestImage(t, img, blocks, 0)
			out, errOut, code := runImageCmd(t, "format", img, "--salt", imgSalt, "--uuid", imgUUID)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			kv := keyValues(out)
			peerOut, err := exec.Command(vs, "format", "--salt", imgSalt, "--uuid", imgUUID, img, filepath.Join(dir, "peer")).CombinedOutput()
			if err != nil {
				t.Fatalf("veritysetup: %v\n%s", err, peerOut)
			}
			peerRoot := regexp.MustCompile(`Root hash:\s+(\w+)`).FindStringSubmatch(string(peerOut))[1]
			if kv["root-hash"] != peerRoot {
				t.Errorf("root hash %s, veritysetup %s", kv["root-hash"], peerRoot)
			}
			ours, _ := os.ReadFile(img + ".verity")
			theirs, _ := os.ReadFile(filepath.Join(dir, "peer"))
			if !bytes.Equal(ours, theirs) {
				t.Errorf("hash file differs from veritysetup's (%d vs %d bytes)", len(ours), len(theirs))
			}
			if kv["uuid"] != imgUUID || kv["salt"] != imgSalt || kv["data-blocks"] != fmt.Sprint(blocks) || kv["hash-start-block"] != "1" {
				t.Errorf("report: %v", kv)
			}
			// veritysetup accepts our tree too.
			if out, err := exec.Command(vs, "verify", img, img+".verity", kv["root-hash"]).CombinedOutput(); err != nil {
				t.Errorf("veritysetup verify: %v\n%s", err, out)
			}
		})
	}
}

func TestImageFormatDefaults(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	makeTestImage(t, img, 10, 100)
	out, errOut, code := runImageCmd(t, "format", img, "--json", "--root-hash-file", filepath.Join(dir, "root"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r formatReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Salt) != 64 || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(r.UUID) {
		t.Errorf("random salt %q or uuid %q", r.Salt, r.UUID)
	}
	if r.HashFile != img+".verity" || r.DataBlocks != 10 {
		t.Errorf("report %+v", r)
	}
	if !strings.Contains(errOut, "the last 100 bytes are not a whole block") {
		t.Errorf("no warning about the partial block: %q", errOut)
	}
	root, _ := os.ReadFile(filepath.Join(dir, "root"))
	if strings.TrimSpace(string(root)) != r.RootHash {
		t.Errorf("root hash file %q", root)
	}
	// Random salts: formatting again gives another root hash.
	out2, _, _ := runImageCmd(t, "format", img, "--json")
	var r2 formatReport
	json.Unmarshal([]byte(out2), &r2)
	if r2.RootHash == r.RootHash {
		t.Error("two random-salt formats gave the same root hash")
	}
}

// Same inputs, same bytes.
func TestImageFormatReproducible(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	makeTestImage(t, img, 3000, 0)
	var files [][]byte
	for i, jobs := range []string{"1", "4"} {
		h := filepath.Join(dir, fmt.Sprint(i))
		if _, e, code := runImageCmd(t, "format", img, "--hash-file", h, "--salt", imgSalt, "--uuid", imgUUID, "--jobs", jobs); code != 0 {
			t.Fatal(e)
		}
		b, _ := os.ReadFile(h)
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two runs differ")
	}
}

func TestImageVerify(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	data := makeTestImage(t, img, 300, 0)
	out, e, code := runImageCmd(t, "format", img, "--salt", imgSalt, "--uuid", imgUUID)
	if code != 0 {
		t.Fatal(e)
	}
	root := keyValues(out)["root-hash"]
	wrongRoot := strings.Repeat("0", 64)

	tests := []struct {
		name   string
		prep   func()
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "good", args: []string{"--root-hash", root, img}, code: 0, stdout: "ok: .* 300 data blocks match root hash " + root},
		{name: "wrong root", args: []string{"--root-hash", wrongRoot, img}, code: 1, stderr: "root hash does not match"},
		{name: "short root", args: []string{"--root-hash", root[:62], img}, code: 2, stderr: "root hash has the wrong length: 62 hex digits"},
		{name: "not hex", args: []string{"--root-hash", "xyz", img}, code: 2, stderr: "not hex"},
		{name: "no root", args: []string{img}, code: 2, stderr: "--root-hash is required"},
		{name: "missing hash file", args: []string{"--root-hash", root, img, "--hash-file", filepath.Join(dir, "nope")}, code: 2, stderr: "no such file"},
		{name: "bad data block", prep: func() {
			data[200*4096+5] ^= 1
			os.WriteFile(img, data, 0o644)
		}, args: []string{"--root-hash", root, img}, code: 1, stderr: "1 bad data block\\(s\\): 200 \\(offset 819200\\)"},
		{name: "truncated tree", prep: func() {
			h, _ := os.ReadFile(img + ".verity")
			os.WriteFile(img+".verity", h[:len(h)-4096], 0o644)
		}, args: []string{"--root-hash", root, img}, code: 2, stderr: "hash device truncated"},
	}
	for _, tt := range tests {
		if tt.prep != nil {
			tt.prep()
		}
		stdout, stderr, code := runImageCmd(t, append([]string{"verify"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, code, tt.code, stderr)
		}
		if tt.stdout != "" && !regexp.MustCompile(tt.stdout).MatchString(stdout) {
			t.Errorf("%s: stdout %q, want %q", tt.name, stdout, tt.stdout)
		}
		if tt.stderr != "" && !regexp.MustCompile(tt.stderr).MatchString(stderr) {
			t.Errorf("%s: stderr %q, want %q", tt.name, stderr, tt.stderr)
		}
		if strings.Count(stderr, "\n") > 1 {
			t.Errorf("%s: more than one line on stderr: %q", tt.name, stderr)
		}
	}
}

func TestImageSHA256(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	data := makeTestImage(t, img, 5, 7)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	out, _, code := runImageCmd(t, "sha256", img, "--expect", want)
	if code != 0 || out != want+"  "+img+"\n" {
		t.Errorf("exit %d, %q", code, out)
	}
	if _, e, code := runImageCmd(t, "sha256", img, "--expect", strings.Repeat("ab", 32)); code != 1 || !strings.Contains(e, "expected abab") {
		t.Errorf("mismatch: exit %d %q", code, e)
	}
	if _, _, code := runImageCmd(t, "sha256", img, "--expect", "abc"); code != 2 {
		t.Errorf("bad --expect: exit %d", code)
	}
}

// open refuses a wrong root hash before touching device-mapper, so this
// runs anywhere. With the right root hash it sets the device up where the
// kernel has device-mapper and dm-verity and we are root (the VM), and
// otherwise must fail with a clear one-line message, never pass silently.
func TestImageOpen(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	data := makeTestImage(t, img, 200, 0)
	out, e, code := runImageCmd(t, "format", img, "--salt", imgSalt, "--uuid", imgUUID)
	if code != 0 {
		t.Fatal(e)
	}
	root := keyValues(out)["root-hash"]
	wrong := []byte(root)
	wrong[10] ^= 1

	_, stderr, code := runImageCmd(t, "open", "--root-hash", string(wrong), "--name", "nbs-test", img)
	if code != 1 || !strings.Contains(stderr, "root hash does not match") {
		t.Errorf("wrong root: exit %d %q", code, stderr)
	}
	_, stderr, code = runImageCmd(t, "open", "--root-hash", root[:10], "--name", "nbs-test", img)
	if code != 2 || !strings.Contains(stderr, "wrong length") {
		t.Errorf("short root: exit %d %q", code, stderr)
	}
	_, stderr, code = runImageCmd(t, "open", "--root-hash", root, img)
	if code != 2 || !strings.Contains(stderr, "--name is required") {
		t.Errorf("no name: exit %d %q", code, stderr)
	}
	_, stderr, code = runImageCmd(t, "open", "--root-hash", root, "--name", "x", "--on-corruption", "ignore", img)
	if code != 2 {
		t.Errorf("bad --on-corruption: exit %d %q", code, stderr)
	}

	stdout, stderr, code := runImageCmd(t, "open", "--root-hash", root, "--name", "nbs-test", img)
	if code != 0 {
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "device-mapper") && !strings.Contains(stderr, "permission") {
			t.Fatalf("open without device-mapper: exit %d %q", code, stderr)
		}
		t.Logf("no device-mapper here, open fails cleanly: %s", strings.TrimSpace(stderr))
		return
	}
	defer runImageCmd(t, "close", "--name", "nbs-test")
	dev := strings.TrimSpace(stdout)
	got, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s reads %d bytes differing from the image", dev, len(got))
	}
	if _, stderr, code := runImageCmd(t, "close", "--name", "nbs-test"); code != 0 {
		t.Errorf("close: %s", stderr)
	}
}

func TestImageUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		output string
	}{
		{nil, 2, "no command given"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"format"}, 2, "exactly one IMAGE"},
		{[]string{"format", "--help"}, 0, "Exit status:"},
		{[]string{"format", "x", "--salt", "zz"}, 2, "--salt: not hex"},
		{[]string{"format", "x", "--uuid", "nope"}, 2, "--uuid \"nope\""},
		{[]string{"format", "/nonexistent/img"}, 2, "no such file"},
		{[]string{"close"}, 2, "needs --name"},
	}
	for _, tt := range tests {
		stdout, stderr, code := runImageCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.output) {
			t.Errorf("%v: exit %d, output %q %q; want %d %q", tt.args, code, stdout, stderr, tt.code, tt.output)
		}
	}
}
