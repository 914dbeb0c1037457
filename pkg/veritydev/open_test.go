package veritydev

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/dm"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"golang.org/x/sys/unix"
)

// fakeMapper records what Open asks of the kernel. Attach hands out
// numbered devices; Create fails with createErr when set.
type fakeMapper struct {
	attached  []string // the files attached, in order
	released  int
	created   []created
	removed   []string
	createErr error
}

type created struct {
	name, uuid string
	targets    []dm.Target
}

func (f *fakeMapper) Attach(file *os.File, isBlock bool) (string, func(), error) {
	f.attached = append(f.attached, filepath.Base(file.Name()))
	dev := fmt.Sprintf("7:%d", len(f.attached)-1)
	return dev, func() { f.released++ }, nil
}

func (f *fakeMapper) Create(name, uuid string, targets []dm.Target) (string, error) {
	if f.createErr != nil {
		return "", f.createErr
	}
	f.created = append(f.created, created{name, uuid, targets})
	return "/dev/mapper/" + name, nil
}

func (f *fakeMapper) Remove(name string) error {
	f.removed = append(f.removed, name)
	return nil
}

const testUUID = "6f3c2a1e-9b4d-4c5e-8f7a-0123456789ab"

// writeImage writes blocks pseudo-random 4096-byte blocks to path.
func writeImage(t *testing.T, path string, blocks int) []byte {
	t.Helper()
	b := make([]byte, blocks*4096)
	r := rand.New(rand.NewPCG(uint64(blocks), 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// format writes image's tree to hashFile at offset and returns the root.
func format(t *testing.T, image, hashFile string, offset int64) []byte {
	t.Helper()
	u, _ := verity.ParseUUID(testUUID)
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	blocks := uint64(st.Size()) / 4096
	if offset > 0 {
		blocks = uint64(offset) / 4096
	}
	tree, err := verity.Compute(context.Background(), io.NewSectionReader(f, 0, st.Size()), verity.Params{Salt: []byte{0xab}, UUID: u, DataBlocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(hashFile, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := tree.WriteTo(io.NewOffsetWriter(out, offset)); err != nil {
		t.Fatal(err)
	}
	return tree.RootHash()
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "store.img")
	writeImage(t, img, 200)
	root := format(t, img, img+".verity", 0)
	wrong := append([]byte(nil), root...)
	wrong[0] ^= 1

	// A tree appended to a copy of the image.
	appended := filepath.Join(dir, "appended.img")
	writeImage(t, appended, 200)
	appendedRoot := format(t, appended, appended, 200*4096)

	// The image with its tree written inside its data, at block 100;
	// the same file under another name (a hard link), and a copy.
	inside := filepath.Join(dir, "inside.img")
	data := writeImage(t, inside, 200)
	tree, err := os.ReadFile(img + ".verity")
	if err != nil {
		t.Fatal(err)
	}
	copy(data[100*4096:], tree)
	if err := os.WriteFile(inside, data, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.img")
	if err := os.Link(inside, link); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "copy.img")
	if err := os.WriteFile(other, data, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		opt       Options
		createErr error
		wantErr   error
		attached  string // files attached, in order
		table     string // the table line's parameters
	}{
		{
			name:     "separate hash file",
			opt:      Options{Image: img, HashPath: img + ".verity", RootHash: root, Name: "store"},
			attached: "store.img store.img.verity",
			table:    "1 7:0 7:1 4096 4096 200 1 sha256 " + hex.EncodeToString(root) + " ab",
		},
		{
			name:     "optional arguments",
			opt:      Options{Image: img, HashPath: img + ".verity", RootHash: root, Name: "store", Optional: []string{"panic_on_corruption"}},
			attached: "store.img store.img.verity",
			table:    "1 7:0 7:1 4096 4096 200 1 sha256 " + hex.EncodeToString(root) + " ab 1 panic_on_corruption",
		},
		{
			name:     "tree appended: one device attached once",
			opt:      Options{Image: appended, HashOffset: 200 * 4096, RootHash: appendedRoot, Name: "store"},
			attached: "appended.img",
			table:    "1 7:0 7:0 4096 4096 200 201 sha256 " + hex.EncodeToString(appendedRoot) + " ab",
		},
		{
			name:    "wrong root hash: nothing attached",
			opt:     Options{Image: img, HashPath: img + ".verity", RootHash: wrong, Name: "store"},
			wantErr: verity.ErrRootMismatch,
		},
		{
			name:    "short root hash",
			opt:     Options{Image: img, HashPath: img + ".verity", RootHash: root[:31], Name: "store"},
			wantErr: verity.ErrRootHashLength,
		},
		{
			// The image is its own hash device under another name, with a
			// superblock inside the data: refused before anything is
			// attached, however the names differ.
			name:    "hash path another name of the image, tree inside the data",
			opt:     Options{Image: inside, HashPath: link, HashOffset: 100 * 4096, RootHash: root, Name: "store"},
			wantErr: verity.ErrOverlap,
		},
		{
			name:    "image as its own hash device, tree inside the data",
			opt:     Options{Image: inside, HashOffset: 100 * 4096, RootHash: root, Name: "store"},
			wantErr: verity.ErrOverlap,
		},
		{
			// A copy is another device, so no overlap: the top of the
			// tree matches and the device is set up (the kernel would
			// then refuse the data blocks the tree was not made for).
			name:     "hash path a copy of the image",
			opt:      Options{Image: inside, HashPath: other, HashOffset: 100 * 4096, RootHash: root, Name: "store"},
			attached: "inside.img copy.img",
			table:    "1 7:0 7:1 4096 4096 200 101 sha256 " + hex.EncodeToString(root) + " ab",
		},
		{
			name:      "kernel refuses: attached devices are released",
			opt:       Options{Image: img, HashPath: img + ".verity", RootHash: root, Name: "store"},
			createErr: dm.ErrNoTarget,
			wantErr:   dm.ErrNoTarget,
			attached:  "store.img store.img.verity",
		},
		{
			name:    "missing hash file",
			opt:     Options{Image: img, HashPath: filepath.Join(dir, "nope"), RootHash: root, Name: "store"},
			wantErr: os.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMapper{createErr: tt.createErr}
			tt.opt.Mapper = m
			path, err := Open(tt.opt)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Open: %v, want %v", err, tt.wantErr)
			}
			if got := strings.Join(m.attached, " "); got != tt.attached {
				t.Errorf("attached %q, want %q", got, tt.attached)
			}
			if m.released != len(m.attached) {
				t.Errorf("%d attached, %d released", len(m.attached), m.released)
			}
			if tt.wantErr != nil {
				if len(m.created) != 0 {
					t.Errorf("created %v after an error", m.created)
				}
				return
			}
			if path != "/dev/mapper/store" || len(m.created) != 1 {
				t.Fatalf("path %q, created %v", path, m.created)
			}
			c := m.created[0]
			want := dm.Target{Length: 200 * 8, Type: "verity", Params: tt.table}
			if len(c.targets) != 1 || c.targets[0] != want {
				t.Errorf("targets %+v\nwant    %+v", c.targets, want)
			}
			if c.uuid != "CRYPT-VERITY-6f3c2a1e9b4d4c5e8f7a0123456789ab-store" {
				t.Errorf("uuid %q", c.uuid)
			}
		})
	}
}

// The device-mapper UUID is cut below the kernel's limit, however long
// the name.
func TestDeviceUUID(t *testing.T) {
	u, _ := verity.ParseUUID(testUUID)
	long := strings.Repeat("n", 200)
	got := deviceUUID(u, long)
	if len(got) != dm.DM_UUID_LEN-1 || !strings.HasPrefix(got, "CRYPT-VERITY-6f3c2a1e9b4d4c5e8f7a0123456789ab-nnn") {
		t.Errorf("deviceUUID = %q (%d bytes)", got, len(got))
	}
}

func TestDefaultHashPath(t *testing.T) {
	tests := []struct {
		image, hash string
		offset      uint64
		want        string
	}{
		{"a.img", "", 0, "a.img.verity"},
		{"a.img", "", 4096, "a.img"},
		{"a.img", "t", 0, "t"},
		{"a.img", "t", 4096, "t"},
	}
	for _, tt := range tests {
		if got := DefaultHashPath(tt.image, tt.hash, tt.offset); got != tt.want {
			t.Errorf("DefaultHashPath(%q, %q, %d) = %q, want %q", tt.image, tt.hash, tt.offset, got, tt.want)
		}
	}
}

// Neither a FIFO nor a directory is a device: refused at once, never a
// wait for a writer.
func TestOpenSizedRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir} {
		done := make(chan error, 1)
		go func() {
			f, _, _, err := OpenSized(p)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file or block device") {
				t.Errorf("%s: %v", filepath.Base(p), err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: OpenSized hangs", filepath.Base(p))
		}
	}
}
