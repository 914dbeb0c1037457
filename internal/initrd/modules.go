package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Errors callers may branch on.
var (
	ErrModuleNotFound = errors.New("kernel module not found")
	ErrModuleCycle    = errors.New("kernel module dependency cycle")
	ErrModulesDep     = errors.New("malformed modules.dep")
)

// Module is one loadable module file, relative to the modules directory of
// its kernel version (as modules.dep names it, e.g.
// "kernel/drivers/md/dm-verity.ko").
type Module struct {
	Name string // canonical name: base name without .ko*, "-" as "_"
	Path string
}

// moduleName turns a file name or a user-given name into the kernel's
// canonical module name, in which "-" and "_" are the same.
func moduleName(s string) string {
	s = path.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

type depDB struct {
	path    map[string]string   // name -> file
	deps    map[string][]string // name -> names it needs
	builtin map[string]bool
}

func loadDepDB(dir string) (*depDB, error) {
	db := &depDB{path: map[string]string{}, deps: map[string][]string{}, builtin: map[string]bool{}}
	depFile := filepath.Join(dir, "modules.dep")
	f, err := os.Open(depFile)
	if err != nil {
		return nil, fmt.Errorf("reading module dependencies: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		file, rest, ok := strings.Cut(line, ":")
		if !ok || file == "" || !cleanRel(file) {
			return nil, fmt.Errorf("%w: %s line %d: %q", ErrModulesDep, depFile, n, line)
		}
		name := moduleName(file)
		db.path[name] = file
		for _, d := range strings.Fields(rest) {
			if !cleanRel(d) {
				return nil, fmt.Errorf("%w: %s line %d: dependency %q", ErrModulesDep, depFile, n, d)
			}
			db.deps[name] = append(db.deps[name], moduleName(d))
			if _, ok := db.path[moduleName(d)]; !ok {
				db.path[moduleName(d)] = d
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", depFile, err)
	}
	// modules.builtin is optional: a kernel without modules.builtin simply
	// has nothing built in that we could be asked for.
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			db.builtin[moduleName(l)] = true
		}
	}
	return db, nil
}

// cleanRel keeps a hostile modules.dep from pointing outside its directory.
func cleanRel(p string) bool {
	return p != "" && !path.IsAbs(p) && path.Clean(p) == p && !strings.HasPrefix(p, "../") && p != ".."
}

// ResolveModules returns the module files to load, in load order, so that
// each comes after everything it depends on and each appears once. names
// may use "-" or "_" and may carry ".ko". Built-in modules are left out.
func ResolveModules(modulesDir string, names []string) ([]Module, error) {
	if len(names) == 0 {
		return nil, nil
	}
	db, err := loadDepDB(modulesDir)
	if err != nil {
		return nil, err
	}
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []Module
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("%w: %s", ErrModuleCycle, strings.Join(append(chain, name), " -> "))
		}
		if db.builtin[name] {
			state[name] = done
			return nil
		}
		file, ok := db.path[name]
		if !ok {
			return fmt.Errorf("%w: %s in %s", ErrModuleNotFound, name, modulesDir)
		}
		state[name] = visiting
		for _, d := range db.deps[name] {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, Module{Name: name, Path: file})
		return nil
	}
	for _, n := range names {
		if err := visit(moduleName(n), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
