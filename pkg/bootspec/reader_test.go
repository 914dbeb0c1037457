package bootspec

import (
	"errors"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	d, err := ReadFile("testdata/boot.json")
	if err != nil {
		t.Fatal(err)
	}
	if d.Label != "NixOS 25.05.20250801 (Linux 6.12.41)" || d.Initrd == "" || len(d.KernelParams) != 2 {
		t.Errorf("spec: %+v", d.Spec)
	}
	want := "init=/nix/store/0ygg6qz4m4a7ag5apnfy5dn93gdxqjj3-nixos-system-demo-25.05/init loglevel=4 lsm=landlock,yama,bpf"
	if got := d.Cmdline(); got != want {
		t.Errorf("cmdline %q, want %q", got, want)
	}
	if len(d.Specialisations) != 1 || d.Specialisations[0].Name != "debug" || d.Specialisations[0].Cmdline() != "init=/nix/store/q1kmd3yjm8fb2r1w8y7yfw6rb7bgd4ny-nixos-system-demo-25.05/init loglevel=7" {
		t.Errorf("specialisations: %+v", d.Specialisations)
	}
}

func TestParseErrors(t *testing.T) {
	const good = `"system":"x86_64-linux","kernel":"/k","kernelParams":[],"init":"/i","label":"L","toplevel":"/t"`
	doc := func(inner string) string { return `{"org.nixos.bootspec.v1":{` + inner + `}}` }
	for _, tc := range []struct{ name, doc, want string }{
		{"not json", `{`, "unexpected end"},
		{"array", `[]`, "cannot unmarshal"},
		{"v2 only", `{"org.nixos.bootspec.v2":{}}`, "only bootspec version 1"},
		{"no kernel", doc(strings.Replace(good, `"kernel":"/k",`, "", 1)), `"kernel" is missing`},
		{"empty init", doc(strings.Replace(good, `"init":"/i"`, `"init":""`, 1)), `"init" is missing`},
		{"no params", doc(strings.Replace(good, `"kernelParams":[],`, "", 1)), `"kernelParams" is missing`},
		{"param space", doc(strings.Replace(good, `[]`, `["a b"]`, 1)), "not one kernel parameter"},
		{"relative kernel", doc(strings.Replace(good, `"/k"`, `"k"`, 1)), "clean absolute path"},
		{"dotdot initrd", doc(good + `,"initrd":"/a/../b"`), "clean absolute path"},
		{"kernel number", doc(strings.Replace(good, `"/k"`, `1`, 1)), "cannot unmarshal"},
		{"label newline", doc(strings.Replace(good, `"L"`, `"a\nb"`, 1)), "spans lines"},
		{"bad spec name", `{"org.nixos.bootspec.v1":{` + good + `},"org.nixos.specialisation.v1":{"a/b":{}}}`, "only letters"},
		{"bad spec doc", `{"org.nixos.bootspec.v1":{` + good + `},"org.nixos.specialisation.v1":{"a":{}}}`, "specialisation a: malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrMalformed with %q", err, tc.want)
			}
		})
	}
}

func TestDepthBound(t *testing.T) {
	const v1 = `"org.nixos.bootspec.v1":{"system":"s","kernel":"/k","kernelParams":[],"init":"/i","label":"L","toplevel":"/t"}`
	doc := "{" + v1 + "}"
	for i := 0; i <= MaxDepth; i++ {
		doc = "{" + v1 + `,"org.nixos.specialisation.v1":{"x":` + doc + "}}"
	}
	if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("got %v", err)
	}
}
