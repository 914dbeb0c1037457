package fsmagic

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/peer"
)

func TestDetect(t *testing.T) {
	erofs := make([]byte, 2000)
	copy(erofs[1024:], []byte{0xe2, 0xe1, 0xf5, 0xe0})
	for _, c := range []struct {
		name string
		data []byte
		want string
		err  error
	}{
		{"squashfs", append([]byte("hsqs"), make([]byte, 100)...), Squashfs, nil},
		{"erofs", erofs, Erofs, nil},
		{"zeros", make([]byte, 4096), "", ErrUnknown},
		{"short", []byte("hs"), "", ErrUnknown},
		{"empty", nil, "", ErrUnknown},
	} {
		got, err := Detect(bytes.NewReader(c.data))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
}

// Images made by the real tools.
func TestDetectPeers(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o644)
	for _, c := range []struct{ want, tool string }{{Squashfs, "mksquashfs"}, {Erofs, "mkfs.erofs"}} {
		img := filepath.Join(dir, c.want)
		args := []string{src, img, "-noappend", "-quiet"}
		if c.want == Erofs {
			args = []string{"--quiet", img, src}
		}
		if out, err := exec.Command(peer.Tool(t, c.tool), args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c.tool, err, out)
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Detect(f)
		f.Close()
		if got != c.want || err != nil {
			t.Errorf("%s image: %q, %v", c.tool, got, err)
		}
	}
}
