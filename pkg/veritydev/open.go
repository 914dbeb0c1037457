package veritydev

import (
	"fmt"
	"io"
	"os"

	"github.com/nix-boot-security/nix-boot-security/pkg/dm"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
	"golang.org/x/sys/unix"
)

// Options says which device to set up.
type Options struct {
	Image      string // data: a file or a block device
	HashPath   string // hash tree: a file or a block device; "" means Image (with HashOffset)
	HashOffset uint64 // byte offset of the superblock on the hash device
	RootHash   []byte // the trusted root hash
	Name       string // device-mapper name: the device is /dev/mapper/Name
	// Optional are dm-verity's optional table arguments, one word each
	// (e.g. "restart_on_corruption"); none means a bad block fails its read.
	Optional []string
}

// DefaultHashPath is where a hash tree is looked for when none is named:
// the image itself when an offset is given, IMAGE.verity otherwise.
func DefaultHashPath(image, hashPath string, hashOffset uint64) string {
	switch {
	case hashPath != "":
		return hashPath
	case hashOffset > 0:
		return image
	}
	return image + ".verity"
}

// Open checks the tree's top against the root hash, then sets up the
// verity device and returns its path. Errors wrapping verity.ErrRootMismatch
// mean the tree does not match the root hash; others mean the devices or
// the kernel could not be used.
func Open(o Options) (string, error) {
	hashPath := o.HashPath
	if hashPath == "" {
		hashPath = o.Image
	}
	df, data, dataBlock, err := OpenSized(o.Image)
	if err != nil {
		return "", err
	}
	defer df.Close()
	sameFile := hashPath == o.Image
	hf, hash, hashBlock := df, data, dataBlock
	if !sameFile {
		if hf, hash, hashBlock, err = OpenSized(hashPath); err != nil {
			return "", err
		}
		defer hf.Close()
	}
	sb, g, err := verity.CheckRoot(data, hash, o.HashOffset, o.RootHash)
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.Image, err)
	}

	ctl, err := dm.Open()
	if err != nil {
		return "", err
	}
	defer ctl.Close()

	// Loop devices are attached with autoclear: once device-mapper holds
	// them, closing ours leaves them to it, and they go when it goes.
	dataDev, err := attach(df, dataBlock)
	if err != nil {
		return "", err
	}
	defer dataDev.close()
	hashDev := dataDev
	if !sameFile {
		if hashDev, err = attach(hf, hashBlock); err != nil {
			return "", err
		}
		defer hashDev.close()
	}
	params, err := verity.TableParams(g, sb.Salt, o.RootHash, dataDev.dev, hashDev.dev, o.Optional...)
	if err != nil {
		return "", err
	}
	// The same UUID form cryptsetup uses, so lsblk and systemd recognise it.
	uuid := fmt.Sprintf("CRYPT-VERITY-%x-%s", sb.UUID, o.Name)
	if len(uuid) >= dm.DM_UUID_LEN {
		uuid = uuid[:dm.DM_UUID_LEN-1]
	}
	dev, err := ctl.Setup(o.Name, uuid, []dm.Target{{Length: g.Sectors(), Type: verity.TargetName, Params: params}}, true)
	if err != nil {
		return "", err
	}
	return dm.MakeNode(o.Name, dev)
}

// Close removes the device and the /dev/mapper node Open made; the loop
// devices it attached go with it.
func Close(name string) error {
	ctl, err := dm.Open()
	if err != nil {
		return err
	}
	defer ctl.Close()
	if err := ctl.RemoveDevice(name); err != nil {
		return err
	}
	return dm.RemoveNode(name)
}

// OpenSized opens a file or block device read-only with its size (Stat
// says 0 for block devices, so the size comes from seeking to the end).
func OpenSized(path string) (f *os.File, r *io.SectionReader, isBlock bool, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, false, err
	}
	isBlock = st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
	if !isBlock && !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, false, fmt.Errorf("%s: not a regular file or block device", path)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("size of %s: %w", path, err)
	}
	return f, io.NewSectionReader(f, 0, size), isBlock, nil
}

// attached is a device for a table line: a block device as it is, or a
// file through a loop device.
type attached struct {
	dev  string
	loop *dm.Loop
}

func (a *attached) close() {
	if a.loop != nil {
		a.loop.Close()
	}
}

func attach(f *os.File, isBlock bool) (*attached, error) {
	if isBlock {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			return nil, fmt.Errorf("stat %s: %w", f.Name(), err)
		}
		return &attached{dev: dm.DevString(st.Rdev)}, nil
	}
	l, err := dm.AttachLoop(f)
	if err != nil {
		return nil, err
	}
	return &attached{dev: l.DevString(), loop: l}, nil
}
