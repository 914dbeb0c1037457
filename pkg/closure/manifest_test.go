package closure

import (
	"errors"
	"strings"
	"testing"
)

const (
	pathA = "/nix/store/0cxjpflv8b9lbk9qq3jgix4rlqbwdxkc-b"
	pathB = "/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a"
	hashZ = "sha256:0000000000000000000000000000000000000000000000000000"
)

func goodManifest() string {
	return "nix-closure-manifest 1\nstore-dir /nix/store\npaths 2\nnar-bytes 448\n" +
		pathA + " " + hashZ + " 328\n" + pathB + " " + hashZ + " 120\nend\n"
}

func TestManifestRoundTrip(t *testing.T) {
	m, err := ParseManifest([]byte(goodManifest()))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Marshal()); got != goodManifest() {
		t.Fatalf("round trip:\n%s", got)
	}
	if d := DigestOf(m.Marshal()).String(); !strings.HasPrefix(d, "sha256:") || len(d) != 71 {
		t.Fatalf("digest %s", d)
	}
}

func TestManifestRefusesBadInput(t *testing.T) {
	g := goodManifest()
	cases := []struct {
		name, text string
		version    bool
	}{
		{"empty", "", false},
		{"not a manifest", "hello\n", false},
		{"unknown version", strings.Replace(g, "manifest 1", "manifest 2", 1), true},
		{"truncated at a line", g[:strings.Index(g, pathB)], false},
		{"truncated mid-line", g[:len(g)-10], false},
		{"no end", strings.TrimSuffix(g, "end\n"), false},
		{"data after end", g + "x\n", false},
		{"count mismatch", strings.Replace(g, "paths 2", "paths 3", 1), false},
		{"bytes mismatch", strings.Replace(g, "nar-bytes 448", "nar-bytes 449", 1), false},
		{"unsorted", strings.Replace(strings.Replace(g, pathA, "X", 1), pathB, pathA, 1), false},
		{"duplicate", strings.Replace(g, pathB, pathA, 1), false},
		{"outside store", strings.Replace(g, pathB, "/etc/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a", 1), false},
		{"slash in name", strings.Replace(g, pathB, pathB+"/etc", 1), false},
		{"dotdot", strings.Replace(g, pathB, "/nix/store/../34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a", 1), false},
		{"dotdot name", strings.Replace(g, pathB, "/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-..", 1), false},
		{"bad hash", strings.Replace(g, hashZ+" 120", "sha256:zz 120", 1), false},
		{"bad size", strings.Replace(g, " 120\n", " -1\n", 1), false},
		{"relative store dir", strings.Replace(g, "store-dir /nix/store", "store-dir nix/store", 1), false},
		{"zero paths", "nix-closure-manifest 1\nstore-dir /nix/store\npaths 0\nnar-bytes 0\nend\n", false},
		{"CRLF", strings.ReplaceAll(g, "\n", "\r\n"), false},
		{"NAR size below the smallest NAR", strings.Replace(strings.Replace(g, " 120\n", " 95\n", 1), "nar-bytes 448", "nar-bytes 423", 1), false},
		// Issue 8 §1b: the total wrapped, so a header could match a wrapped sum.
		{"NAR bytes overflow", strings.Replace(strings.Replace(g, " 328\n", " 18446744073709551615\n", 1), "nar-bytes 448", "nar-bytes 119", 1), false},
	}
	for _, c := range cases {
		_, err := ParseManifest([]byte(c.text))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if c.version != errors.Is(err, ErrManifestVersion) {
			t.Errorf("%s: %v", c.name, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", c.name, err)
		}
	}
}

func TestNewManifestDeduplicates(t *testing.T) {
	e := Entry{Path: pathA, NarSize: 200}
	m, err := NewManifest(DefaultStoreDir, []Entry{e, e})
	if err != nil || len(m.Entries) != 1 {
		t.Fatalf("%v %v", m, err)
	}
	e2 := e
	e2.NarSize = 300
	if _, err := NewManifest(DefaultStoreDir, []Entry{e, e2}); err == nil {
		t.Fatal("conflicting duplicate accepted")
	}
}

// Issue 8 §1b: manifest wrote NAR sizes below 96 that its own reader
// refused. The writer validates as the reader does: whatever NewManifest
// accepts reads back, whatever it refuses the reader refuses too.
func TestWriterValidatesAsReader(t *testing.T) {
	cases := []struct {
		name    string
		entries []Entry
		ok      bool
	}{
		{"smallest NAR", []Entry{{Path: pathA, NarSize: 96}}, true},
		{"NAR size 95", []Entry{{Path: pathA, NarSize: 95}}, false},
		{"NAR size 0", []Entry{{Path: pathA}}, false},
		{"largest total", []Entry{{Path: pathA, NarSize: 1<<64 - 1 - 96}, {Path: pathB, NarSize: 96}}, true},
		{"total overflows", []Entry{{Path: pathA, NarSize: 1<<64 - 1}, {Path: pathB, NarSize: 120}}, false},
		{"outside the store", []Entry{{Path: "/etc/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-a", NarSize: 120}}, false},
		{"dot name", []Entry{{Path: "/nix/store/34fjjmpy392nx9kxf70xa6v9s4yq8p7l-.a", NarSize: 120}}, false},
	}
	for _, c := range cases {
		m, err := NewManifest(DefaultStoreDir, c.entries)
		if (err == nil) != c.ok {
			t.Errorf("%s: NewManifest: %v", c.name, err)
			continue
		}
		if err == nil {
			if _, err := ParseManifest(m.Marshal()); err != nil {
				t.Errorf("%s: the reader refuses what the writer made: %v", c.name, err)
			}
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", c.name, err)
		}
		// Written without NewManifest's checks, the reader refuses it.
		raw := (&Manifest{StoreDir: DefaultStoreDir, Entries: c.entries}).Marshal()
		if _, err := ParseManifest(raw); err == nil {
			t.Errorf("%s: the reader accepts what the writer refuses", c.name)
		}
	}
}

// Every accepted form gives the same digest; a refusal names the accepted
// forms on one line.
func TestParseDigestForms(t *testing.T) {
	const want = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // sha256 of ""
	for _, s := range []string{
		want,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
		"0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
		"sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	} {
		if d, err := ParseDigest(s); err != nil || d.String() != want {
			t.Errorf("%s: got %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "zz", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", "sha512-abc"} {
		_, err := ParseDigest(s)
		if err == nil || !strings.Contains(err.Error(), "(accepted: "+digestForms+")") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v does not list the accepted forms on one line", s, err)
		}
	}
}
