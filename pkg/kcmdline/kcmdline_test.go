package kcmdline

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	got := Parse(" console=ttyS0  quiet x.y=\"a b\" x.z=1=2 x.y=c\n")
	want := []Param{
		{Key: "console", Value: "ttyS0"},
		{Key: "quiet", Bare: true},
		{Key: "x.y", Value: "a b"},
		{Key: "x.z", Value: "1=2"},
		{Key: "x.y", Value: "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if v, ok := Lookup(got, "x.y"); !ok || v != "c" {
		t.Fatalf("lookup %q %v", v, ok)
	}
	if m := WithPrefix(got, "x"); m["y"] != "c" || m["z"] != "1=2" || len(m) != 2 {
		t.Fatalf("prefix %v", m)
	}
	if len(Parse("")) != 0 || len(Parse("\"")) != 1 {
		t.Fatal("edge cases")
	}
}
