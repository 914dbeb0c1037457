package iso

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ErrTool is wrapped by errors of the external programs.
var ErrTool = errors.New("external tool failed")

// maxToolOutput bounds how much of a tool's error output is kept.
const maxToolOutput = 4096

// run runs a tool with a fixed environment: C locale, UTC, and
// SOURCE_DATE_EPOCH when epoch >= 0 (mtools and xorriso take their dates
// from it; mksquashfs refuses it next to its own date options).
func run(ctx context.Context, epoch int64, tool string, args ...string) error {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC", "MTOOLS_SKIP_CHECK=1"}
	if epoch >= 0 {
		cmd.Env = append(cmd.Env, "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch, 10))
	}
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %w: %s", ErrTool, tool, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// tail keeps the last maxToolOutput bytes written to it.
type tail struct{ b bytes.Buffer }

func (t *tail) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - maxToolOutput; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tail) String() string { return t.b.String() }
