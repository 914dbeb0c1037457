package closure

import (
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/progress"
)

// Summary is the one line that closes a check, the same for `check` and
// the boot check: "1234 store paths, 2.1 GiB in 1.3 s" when the store
// matched, "3 of 1234 store paths differ from the manifest (4 problems);
// checked 2.1 GiB in 1.3 s" when it did not. A version 2 check also says
// how many files it checked ("1234 store paths, 56789 files, 2.0 GiB in
// 0.9 s").
func (r *Report) Summary() string {
	volume := fmt.Sprintf("%s in %.2f s", progress.Bytes(r.Bytes), r.Duration.Seconds())
	if r.Files > 0 {
		// A version 2 check: the files it read, and how many.
		volume = fmt.Sprintf("%d files, %s", r.Files, volume)
	}
	if r.OK() {
		return fmt.Sprintf("%d store paths, %s", r.Paths, volume)
	}
	problems := "1 problem"
	if len(r.Problems) != 1 {
		problems = fmt.Sprintf("%d problems", len(r.Problems))
	}
	return fmt.Sprintf("%d of %d store paths differ from the manifest (%s); checked %s",
		r.FailedPaths(), r.Paths, problems, volume)
}
