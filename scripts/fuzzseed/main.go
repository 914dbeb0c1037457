// Command fuzzseed writes a seed for a native Go fuzz target in Go's corpus
// file format ("go test fuzz v1", one []byte value per argument of the
// target), so the recipes under each package's testdata can turn files made
// by real peers into testdata/fuzz/FuzzX/NAME seeds.
//
// Usage: fuzzseed DIR NAME FILE [FILE...]
//
// Each FILE becomes one []byte argument, in order; "-" reads standard input.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fuzzseed:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: fuzzseed DIR NAME FILE [FILE...]")
	}
	dir, name := args[0], args[1]
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, p := range args[2:] {
		data, err := readArg(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "[]byte(%q)\n", data)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
}

func readArg(p string) ([]byte, error) {
	if p == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(p)
}
