package fsverity

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

// kernelDirEnv names a directory on a filesystem with fs-verity (ext4 made
// with -O verity, mounted read-write). This machine's kernel has no
// fs-verity, so tests/vm (TestFSVerityKernel) runs this package's test
// binary inside a VM whose kernel has it, with the variable set.
const kernelDirEnv = "NBS_FSVERITY_DIR"

func TestClassify(t *testing.T) {
	tests := []struct {
		errno syscall.Errno
		want  error
	}{
		{unix.EOPNOTSUPP, ErrUnsupported},
		{unix.ENOTTY, ErrUnsupported},
		{unix.ENODATA, ErrNotEnabled},
		{unix.EEXIST, ErrAlreadyEnabled},
		{unix.ETXTBSY, ErrOpenForWriting},
		{unix.EROFS, ErrReadOnlyFS},
		{unix.EBUSY, ErrBusy},
		{unix.EFBIG, ErrFileTooLarge},
		{unix.EISDIR, ErrNotRegular},
		{unix.ENOPKG, ErrHashUnavailable},
		{unix.EOVERFLOW, ErrAlgorithm},
		{unix.EACCES, nil},
		{unix.EPERM, nil},
	}
	for _, tc := range tests {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			err := classify("FS_IOC_ENABLE_VERITY", tc.errno)
			if !errors.Is(err, tc.errno) {
				t.Errorf("%v does not wrap %v", err, tc.errno)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "FS_IOC_ENABLE_VERITY") {
				t.Errorf("%q does not name the ioctl", err)
			}
		})
	}
	if classify("x", nil) != nil {
		t.Error("no error became an error")
	}
}

func TestUnsupportedSaysHowToGetIt(t *testing.T) {
	for _, want := range []string{"mkfs.ext4 -O verity", "tune2fs -O verity"} {
		if !strings.Contains(ErrUnsupported.Error(), want) {
			t.Errorf("%q does not say %q", ErrUnsupported, want)
		}
	}
}

func TestNotRegular(t *testing.T) {
	d, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := Enable(d); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Enable on a directory: %v, want ErrNotRegular", err)
	}
	if _, err := Measure(d); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Measure on a directory: %v, want ErrNotRegular", err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if _, err := Measure(null); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Measure on %s: %v, want ErrNotRegular", os.DevNull, err)
	}
}

// TestWithoutKernelSupport runs where the kernel or the filesystem lacks
// fs-verity (this machine): both calls say so, never a digest.
func TestWithoutKernelSupport(t *testing.T) {
	if os.Getenv(kernelDirEnv) != "" {
		t.Skip(kernelDirEnv + " names a filesystem with fs-verity")
	}
	p := writeFile(t, t.TempDir(), "f", []byte("data"))
	f := openRead(t, p)
	err := Enable(f)
	if err == nil {
		t.Skip("this filesystem has fs-verity: TestKernel covers it")
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Enable: %v, want ErrUnsupported", err)
	}
	if _, err := Measure(f); !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNotEnabled) {
		t.Fatalf("Measure: %v, want ErrUnsupported or ErrNotEnabled", err)
	}
}

// TestKernel enables and measures real files and compares with the peer,
// `fsverity digest` (computed in user space by libfsverity) and `fsverity
// measure` (the same ioctl), and with our Digest. It needs a filesystem with fs-verity.
func TestKernel(t *testing.T) {
	dir := kernelDir(t)
	fsverity := peer.Tool(t, "fsverity")
	sizes := []int{0, 1, 4095, 4096, 4097, 128*4096 + 1, 16384*4096 + 1}
	for _, size := range sizes {
		t.Run("size-"+strconv.Itoa(size), func(t *testing.T) {
			data := pattern(size)
			p := writeFile(t, dir, "size-"+strconv.Itoa(size), data)
			// As in a Nix store: read-only, mtime 1, which Enable keeps.
			if err := os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o444); err != nil {
				t.Fatal(err)
			}
			f := openRead(t, p)
			if _, err := Measure(f); !errors.Is(err, ErrNotEnabled) {
				t.Fatalf("Measure before Enable: %v, want ErrNotEnabled", err)
			}
			if err := Enable(f); err != nil {
				t.Fatal(err)
			}
			if err := Enable(f); !errors.Is(err, ErrAlreadyEnabled) {
				t.Fatalf("second Enable: %v, want ErrAlreadyEnabled", err)
			}
			if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(time.Unix(1, 0)) {
				t.Errorf("mtime after Enable: %v %v, want 1", fi.ModTime(), err)
			}
			got, err := Measure(f)
			if err != nil {
				t.Fatal(err)
			}
			want := peerRun(t, fsverity, "digest", p)
			if hex.EncodeToString(got[:]) != want {
				t.Errorf("Measure %x, fsverity digest %s", got, want)
			}
			if m := peerRun(t, fsverity, "measure", p); m != want {
				t.Errorf("fsverity measure %s, fsverity digest %s", m, want)
			}
			if ours, _, err := Digest(bytes.NewReader(data)); err != nil || ours != got {
				t.Errorf("Digest %x (%v), Measure %x", ours, err, got)
			}
		})
	}

	t.Run("open for writing elsewhere", func(t *testing.T) {
		p := writeFile(t, dir, "busy", []byte("busy"))
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := Enable(openRead(t, p)); !errors.Is(err, ErrOpenForWriting) {
			t.Fatalf("Enable: %v, want ErrOpenForWriting", err)
		}
	})

	t.Run("own descriptor open for writing", func(t *testing.T) {
		p := writeFile(t, dir, "rw", []byte("rw"))
		rw, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rw.Close()
		if err := Enable(rw); !errors.Is(err, ErrOpenForWriting) {
			t.Fatalf("Enable: %v, want ErrOpenForWriting", err)
		}
	})

	t.Run("enabled with sha512 by the peer", func(t *testing.T) {
		p := writeFile(t, dir, "sha512", []byte("sha512"))
		if out, err := exec.Command(fsverity, "enable", "--hash-alg=sha512", p).CombinedOutput(); err != nil {
			t.Fatalf("fsverity enable --hash-alg=sha512: %v\n%s", err, out)
		}
		if _, err := Measure(openRead(t, p)); !errors.Is(err, ErrAlgorithm) {
			t.Fatalf("Measure: %v, want ErrAlgorithm", err)
		}
	})

	t.Run("enabled with a salt by the peer", func(t *testing.T) {
		// Same content, same algorithm and block size: the salt alone
		// changes the digest, and Measure reports the kernel's.
		data := []byte("salted")
		p := writeFile(t, dir, "salted", data)
		if out, err := exec.Command(fsverity, "enable", "--salt=00ff", p).CombinedOutput(); err != nil {
			t.Fatalf("fsverity enable --salt: %v\n%s", err, out)
		}
		got, err := Measure(openRead(t, p))
		if err != nil {
			t.Fatal(err)
		}
		plain := peerRun(t, fsverity, "digest", writeFile(t, t.TempDir(), "plain", data))
		if hex.EncodeToString(got[:]) == plain {
			t.Error("a salted file measures as the unsalted digest")
		}
		if want := peerRun(t, fsverity, "measure", p); hex.EncodeToString(got[:]) != want {
			t.Errorf("Measure %x, fsverity measure %s", got, want)
		}
	})
}

// kernelDir returns a directory where fs-verity works, or skips.
func kernelDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv(kernelDirEnv); d != "" {
		dir, err := os.MkdirTemp(d, "fsverity-test-")
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := t.TempDir()
	if err := Enable(openRead(t, writeFile(t, dir, "probe", nil))); err != nil {
		t.Skipf("no fs-verity here (%v); tests/vm TestFSVerityKernel runs this test in a VM with %s set", err, kernelDirEnv)
	}
	return dir
}

func peerRun(t *testing.T, fsverity, cmd, p string) string {
	t.Helper()
	out, err := exec.Command(fsverity, cmd, p).Output()
	if err != nil {
		t.Fatalf("fsverity %s %s: %v", cmd, p, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 2 || !strings.HasPrefix(fields[0], "sha256:") {
		t.Fatalf("fsverity %s printed %q", cmd, out)
	}
	return strings.TrimPrefix(fields[0], "sha256:")
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openRead(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// pattern is size bytes that differ from block to block, so a tree built
// over the wrong blocks would not match.
func pattern(size int) []byte {
	b := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	for i := 0; i < size; i += 4096 {
		b[i] = byte(i / 4096)
	}
	return b
}
