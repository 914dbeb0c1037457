package closure

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	v2PathA = "/nix/store/0zyjz9fv6bmlhm33pngnlqjiapi17wpn-demo-system"
	v2PathB = "/nix/store/3arq2rzy2h84lmih3m11207nqa24vvsi-demo-lib"
)

// samplePaths are two store paths with every entry type and names that
// need escaping; their NAR sizes are computed from the entries.
func samplePaths(t *testing.T) []PathNodes {
	t.Helper()
	a := PathNodes{Entry: Entry{Path: v2PathA}, Nodes: []Node{
		{Path: ".", Type: NodeDirectory},
		{Path: "a", Type: NodeDirectory},
		{Path: "a/x", Type: NodeRegular, Executable: true, Size: 9},
		{Path: "a-b", Type: NodeSymlink, Target: "../some where/%"},
		{Path: "gr\xc3\xbc\xc3\x9fe", Type: NodeRegular, Size: 4096},
		{Path: "with space\n", Type: NodeRegular, Size: 0},
	}}
	b := PathNodes{Entry: Entry{Path: v2PathB}, Nodes: []Node{{Path: ".", Type: NodeSymlink, Target: "/nowhere"}}}
	out := []PathNodes{a, b}
	for i := range out {
		var o nodeOrder
		for j := range out[i].Nodes {
			if err := o.add(&out[i].Nodes[j]); err != nil {
				t.Fatal(err)
			}
		}
		out[i].NarSize = o.size
		out[i].NarHash[0] = byte(i + 1)
	}
	out[0].Nodes[2].SHA256[0], out[0].Nodes[2].Verity[31] = 0xab, 0xcd
	return out
}

func marshalV2(t *testing.T, paths []PathNodes) []byte {
	t.Helper()
	var blocks []V2Block
	for i := range paths {
		blk, err := EncodeV2Block(DefaultStoreDir, &paths[i])
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	var buf bytes.Buffer
	if err := WriteManifestV2(&buf, DefaultStoreDir, blocks); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestManifestV2RoundTrip(t *testing.T) {
	paths := samplePaths(t)
	data := marshalV2(t, paths)
	if !bytes.Equal(data, marshalV2(t, samplePaths(t))) {
		t.Fatal("same paths, other bytes")
	}
	for _, want := range []string{"l a-b ../some%20where/%25\n", "r 0 ", " with%20space%0A\n", " gr%C3%BC%C3%9Fe\nr 0 ", "x 9 ab00"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("manifest lacks %q:\n%s", want, data)
		}
	}
	h, got, err := ReadManifestV2(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if h.Paths != 2 || h.Entries != 7 || h.FileBytes != 4105 || len(got) != 2 {
		t.Fatalf("header %+v, %d paths", h, len(got))
	}
	for i := range got {
		if got[i].Entry != paths[i].Entry || len(got[i].Nodes) != len(paths[i].Nodes) {
			t.Fatalf("path %d differs", i)
		}
		for j := range got[i].Nodes {
			if got[i].Nodes[j] != paths[i].Nodes[j] {
				t.Errorf("node %d/%d: %+v, want %+v", i, j, got[i].Nodes[j], paths[i].Nodes[j])
			}
		}
	}
}

func TestManifestV2Refusals(t *testing.T) {
	good := string(marshalV2(t, samplePaths(t)))
	cases := map[string]string{
		"version 1 reader":   strings.Replace(good, "manifest 2", "manifest 3", 1),
		"cut":                good[:len(good)-4],
		"no end":             strings.TrimSuffix(good, "end\n"),
		"trailing":           good + "x",
		"entries count":      strings.Replace(good, "entries 7", "entries 8", 1),
		"file bytes":         strings.Replace(good, "file-bytes 4105", "file-bytes 4104", 1),
		"order":              strings.Replace(good, "d a\n", "d b\n", 1),
		"lower-case escape":  strings.Replace(good, "%20where", "%2fwhere", 1),
		"needless escape":    strings.Replace(good, "gr%C3", "%67r%C3", 1),
		"raw byte":           strings.Replace(good, "gr%C3%BC", "gr\xc3%BC", 1),
		"dot-dot":            strings.Replace(good, "d a\nx 9", "d ..\nx 9", 1),
		"upper-case hex":     strings.Replace(good, "x 9 ab", "x 9 AB", 1),
		"size changes NAR":   strings.Replace(good, "x 9 ", "x 10 ", 1),
		"executable bit":     strings.Replace(good, "x 9 ", "r 9 ", 1),
		"entry count":        strings.Replace(good, " 6\nd .", " 5\nd .", 1),
		"carriage return":    strings.Replace(good, "d a\n", "d a\r\n", 1),
		"child of a file":    strings.Replace(good, "x 9 ", "d a/x\nx 9 ", 1),
		"entry after a link": strings.Replace(good, "l . /nowhere\n", "l . /nowhere\nd b\n", 1),
		"empty link target":  strings.Replace(good, "l . /nowhere", "l . ", 1),
		"double slash":       strings.Replace(good, "a/x", "a//x", 1),
		"root not first":     strings.Replace(good, "d .\nd a\n", "d a\nd .\n", 1),
		"leading zero":       strings.Replace(good, "r 0 ", "r 00 ", 1),
		"paths out of order": strings.Replace(strings.Replace(good, v2PathA, "X", 1), v2PathB, v2PathA, 1),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := ReadManifestV2(strings.NewReader(data))
			if err == nil || !(errors.Is(err, ErrManifest) || errors.Is(err, ErrManifestVersion)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := NewManifestReader(strings.NewReader(goodManifest())); !errors.Is(err, ErrManifestVersion) {
		t.Fatalf("v1 manifest: %v", err)
	}
}

// An error is sticky: Next keeps returning it, never io.EOF.
func TestManifestReaderStickyError(t *testing.T) {
	good := string(marshalV2(t, samplePaths(t)))
	r, err := NewManifestReader(strings.NewReader(strings.Replace(good, "d a\n", "d b\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 == io.EOF || err2 != err1 {
		t.Fatalf("errors %v then %v", err1, err2)
	}
}

// The fuzz seed testdata/fuzz/FuzzReadManifestV2/sample is samplePaths'
// manifest (escaped names, nested directories, a store path that is a
// symlink); this test is its recipe: UPDATE_SEEDS=1 rewrites it.
func TestSampleSeedIsCurrent(t *testing.T) {
	want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(marshalV2(t, samplePaths(t)))) + ")\n"
	p := filepath.Join("testdata", "fuzz", "FuzzReadManifestV2", "sample")
	if os.Getenv("UPDATE_SEEDS") == "1" {
		if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != want {
		t.Fatalf("%s is not samplePaths' manifest (UPDATE_SEEDS=1 rewrites it): %v", p, err)
	}
}
