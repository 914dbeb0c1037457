package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/nixtest"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/fsverity"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		toolName: func() {
			env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
			os.Exit(tool().Main(context.Background(), env, os.Args[1:]))
		},
	})
}

// The scripts in testdata/script run the real command against a real closure
// built by the machine's Nix. They see:
//
//	$TOP          the closure's top-level store path
//	$CLOSURE      its store paths, space-separated
//	$ODD          the store path with odd names (see internal/nixtest)
//	$LEAFEXE      a store path that is a single executable file
//	$FIXTURE      a directory with registration, attrs.json and path-info.json
//	$OWNER        uid:gid of the user running the tests, who owns the copies the scripts make
func TestScripts(t *testing.T) {
	fx := nixtest.Build(t)
	fixtureDir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(fixtureDir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("registration", fx.Registration)
	write("path-info.json", fx.PathInfoJSON)
	attrs, err := os.ReadFile(fx.AttrsJSON)
	if err != nil {
		t.Fatal(err)
	}
	write("attrs.json", string(attrs))
	find := func(suffix string) string {
		for _, p := range fx.Closure {
			if strings.HasSuffix(p, suffix) {
				return p
			}
		}
		t.Fatalf("no %s in the fixture closure", suffix)
		return ""
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("TOP", fx.Top)
			e.Setenv("CLOSURE", strings.Join(fx.Closure, " "))
			e.Setenv("ODD", find("-odd-tree"))
			e.Setenv("LEAFEXE", find("-leaf-exe"))
			e.Setenv("FIXTURE", fixtureDir)
			e.Setenv("OWNER", strconv.Itoa(os.Geteuid())+":"+strconv.Itoa(os.Getegid()))
			e.Setenv("NIX_CONFIG", nixtest.Config)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"deepdir": deepDir},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "fsverity":
				return hasFSVerity()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// hasFSVerity says whether the filesystem of the temporary directory (where
// scripts run) can enable fs-verity.
func hasFSVerity() (bool, error) {
	dir, err := os.MkdirTemp("", "fsverity-probe-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		return false, err
	}
	f.Close()
	if f, err = os.Open(f.Name()); err != nil {
		return false, err
	}
	defer f.Close()
	err = fsverity.Enable(f)
	return !errors.Is(err, fsverity.ErrUnsupported), nil
}

// deepDir makes DIR/d…d/d…d/… LEVELS deep with 250-byte names, deeper than
// PATH_MAX, working from directory descriptors as no path can reach the bottom.
func deepDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: deepdir DIR LEVELS")
	}
	levels, err := strconv.Atoi(args[1])
	ts.Check(err)
	fd, err := unix.Open(ts.MkAbs(args[0]), unix.O_DIRECTORY|unix.O_RDONLY, 0)
	ts.Check(err)
	name := strings.Repeat("d", 250)
	for i := 0; i < levels; i++ {
		ts.Check(unix.Mkdirat(fd, name, 0o755))
		next, err := unix.Openat(fd, name, unix.O_DIRECTORY|unix.O_RDONLY, 0)
		ts.Check(err)
		unix.Close(fd)
		fd = next
	}
	unix.Close(fd)
}
