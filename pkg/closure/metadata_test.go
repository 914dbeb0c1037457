package closure

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// security.selinux is allowed by default (a labelled system's store carries
// it); the allow list can forbid it or allow others.
func TestXattrAllowList(t *testing.T) {
	root, m, fx := copyClosure(t)
	seven := filepath.Join(root, findPath(t, fx, "-odd-tree"), "seven")
	xattr(t, seven, "security.selinux")
	xattr(t, seven, "user.b")
	xattr(t, seven, "user.a")
	cases := []struct {
		allow []string
		want  string // the problem's text, "" for none
	}{
		{nil, "xattr: expected only security.selinux, found user.a,user.b"},
		{[]string{}, "xattr: expected none, found security.selinux,user.a,user.b"},
		{[]string{"user.a", "user.b", "security.selinux"}, ""},
		{[]string{"user.a"}, "xattr: expected only user.a, found security.selinux,user.b"},
	}
	for _, c := range cases {
		checks := testChecks()
		checks.AllowXattrs = c.allow
		rep, err := Check(context.Background(), m, CheckOptions{Root: root, Metadata: checks})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range rep.Problems {
			got = append(got, strings.TrimPrefix(p.String(), p.Path+": "))
		}
		if want := c.want; strings.Join(got, "|") != want {
			t.Errorf("allow %q: problems %q, want %q", c.allow, got, want)
		}
	}
}

// The store's owner is what --owner names; entries owned by anyone else are
// reported with both owners.
func TestOwnerProblem(t *testing.T) {
	root, m, fx := copyClosure(t)
	run := filepath.Join(root, findPath(t, fx, "-odd-tree"), "sub", "run")
	chown(t, run, 1000, 1000)
	rep := check(t, root, m)
	if len(rep.Problems) != 1 || rep.Problems[0].String() != findPath(t, fx, "-odd-tree")+"/sub/run: owner: expected 0:0, found 1000:1000" {
		t.Fatalf("problems %v", rep.Problems)
	}
	checks := testChecks()
	checks.Owner = Owner{1000, 1000}
	rep, err := Check(context.Background(), m, CheckOptions{Root: root, Metadata: checks})
	if err != nil || rep.OK() || len(rep.Problems) < 10 {
		t.Fatalf("every other entry should now be reported: %v %v", err, rep)
	}
}
