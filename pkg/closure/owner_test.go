package closure

import "testing"

// Owners as --owner takes them; names resolve on the machine running the check.
func TestParseOwner(t *testing.T) {
	cases := []struct {
		in   string
		want Owner
		ok   bool
	}{
		{"0:0", Owner{}, true},
		{"1000:100", Owner{1000, 100}, true},
		{"root", Owner{}, true},
		{"root:root", Owner{}, true},
		{"root:1000", Owner{0, 1000}, true},
		{"1000", Owner{}, false}, // a number names no account, so no primary group
		{"", Owner{}, false},
		{":0", Owner{}, false},
		{"0:", Owner{}, false},
		{"0:0:0", Owner{}, false},
		{"-1:0", Owner{}, false},
		{"4294967295:0", Owner{}, false}, // (uid_t)-1 means "unchanged" to chown, not a user
		{"no-such-user-here", Owner{}, false},
		{"0:no-such-group-here", Owner{}, false},
	}
	for _, c := range cases {
		got, err := ParseOwner(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseOwner(%q) = %v, %v", c.in, got, err)
		}
	}
}
