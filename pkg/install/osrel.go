package install

import (
	"fmt"
	"strings"
	"time"
)

// osRelease is the .osrel of a generation's UKI (os-release(5)): systemd-boot
// titles the entry from PRETTY_NAME, orders entries by SORT_KEY and then by
// version, newest first, so the generation number is the version.
func osRelease(n int, spec, label string, built time.Time, sortKey string) []byte {
	title := fmt.Sprintf("%s (Generation %d", label, n)
	if spec != "" {
		title += ", specialisation " + spec
	}
	if !built.IsZero() {
		title += ", " + built.UTC().Format("2006-01-02")
	}
	title += ")"
	var b strings.Builder
	for _, kv := range [][2]string{
		{"NAME", "NixOS"},
		{"ID", "nixos"},
		{"PRETTY_NAME", title},
		{"VERSION_ID", fmt.Sprint(n)},
		{"IMAGE_VERSION", fmt.Sprint(n)},
		{"SORT_KEY", sortKey},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], quote(kv[1]))
	}
	return []byte(b.String())
}

// quote writes an os-release value in double quotes, escaping what the
// shell-like syntax would interpret.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return `"` + r.Replace(s) + `"`
}
