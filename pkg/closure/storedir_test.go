package closure

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// withoutOpenat2 runs f as on a kernel before 5.6, where openat2 does not
// exist and the store directory is opened one component at a time.
func withoutOpenat2(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := openat2
	openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
	defer func() { openat2 = saved }()
	f(t)
}

// resolvers runs f with openat2 and with the component-by-component fallback.
func resolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("fallback", func(t *testing.T) { withoutOpenat2(t, f) })
}

// Issue 8 §1b (critical): with a symlink above the store paths, check said
// ok about the clean copy the link pointed to, while the booted system
// resolves the same link inside its new root to other files.
func TestSymlinkAboveStoreFails(t *testing.T) {
	clean, m, _ := copyClosure(t)
	cases := []struct {
		name string
		make func(t *testing.T, root string)
	}{
		{"nix absolute", func(t *testing.T, root string) { symlink(t, filepath.Join(clean, "nix"), root+"/nix") }},
		{"nix relative, climbing out of the root", func(t *testing.T, root string) {
			rel, err := filepath.Rel(root, filepath.Join(clean, "nix"))
			if err != nil {
				t.Fatal(err)
			}
			symlink(t, rel, root+"/nix")
		}},
		{"nix/store", func(t *testing.T, root string) {
			mkdir(t, root+"/nix")
			symlink(t, filepath.Join(clean, "nix", "store"), root+"/nix/store")
		}},
		{"nix/store relative", func(t *testing.T, root string) {
			mkdir(t, root+"/nix")
			rel, _ := filepath.Rel(root+"/nix", filepath.Join(clean, "nix", "store"))
			symlink(t, rel, root+"/nix/store")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resolvers(t, func(t *testing.T) {
				root := t.TempDir()
				c.make(t, root)
				rep, err := Check(context.Background(), m, CheckOptions{Root: root, Metadata: testChecks()})
				if !errors.Is(err, ErrSymlinkAboveStore) {
					t.Fatalf("err = %v, report %+v; want ErrSymlinkAboveStore", err, rep)
				}
				if errors.Is(err, ErrRoot) {
					t.Fatalf("a symlink is a verification failure, not a usage error: %v", err)
				}
			})
		})
	}
}

// The root itself is the caller's choice and may be a symlink (a documented
// decision: at boot it is the directory the initrd mounted); below it,
// nothing is followed. The pristine copy passes with either resolver.
func TestRootMayBeASymlink(t *testing.T) {
	clean, m, _ := copyClosure(t)
	link := filepath.Join(t.TempDir(), "sysroot")
	symlink(t, clean, link)
	resolvers(t, func(t *testing.T) {
		for _, root := range []string{clean, link} {
			rep, err := Check(context.Background(), m, CheckOptions{Root: root, Metadata: testChecks()})
			if err != nil || !rep.OK() {
				t.Fatalf("root %s: %v %v", root, err, rep)
			}
		}
	})
}

func TestNoStoreDirectory(t *testing.T) {
	_, m, _ := copyClosure(t)
	cases := map[string]func(t *testing.T, root string){
		"nothing":             func(*testing.T, string) {},
		"nix is a file":       func(t *testing.T, root string) { os.WriteFile(root+"/nix", nil, 0o644) },
		"store is a file":     func(t *testing.T, root string) { mkdir(t, root+"/nix"); os.WriteFile(root+"/nix/store", nil, 0o644) },
		"root does not exist": func(t *testing.T, root string) { os.Remove(root) },
	}
	for name, make := range cases {
		t.Run(name, func(t *testing.T) {
			resolvers(t, func(t *testing.T) {
				root := t.TempDir()
				make(t, root)
				if _, err := Check(context.Background(), m, CheckOptions{Root: root}); !errors.Is(err, ErrRoot) {
					t.Fatalf("err = %v, want ErrRoot", err)
				}
			})
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
