package veritydev

import (
	"encoding/hex"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/dm"
	"github.com/nix-boot-security/nix-boot-security/pkg/verity"
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
	// Mapper reaches the kernel; nil means Kernel.
	Mapper Mapper
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

func (o *Options) hashPath() string {
	if o.HashPath == "" {
		return o.Image
	}
	return o.HashPath
}

// Open checks the tree's top against the root hash, then sets up the
// verity device and returns its path. Errors wrapping verity.ErrRootMismatch
// mean the tree does not match the root hash; others mean the input is
// malformed (a tree overlapping its data: verity.ErrOverlap) or the devices
// or the kernel could not be used.
func Open(o Options) (string, error) {
	m := o.Mapper
	if m == nil {
		m = Kernel{}
	}
	devs, err := openDevices(o.Image, o.hashPath())
	if err != nil {
		return "", err
	}
	defer devs.close()
	sb, g, err := verity.CheckRoot(devs.data.r, devs.hash.r, o.RootHash,
		verity.VerifyOptions{HashOffset: o.HashOffset, SameDevice: devs.same})
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.Image, err)
	}

	dataDev, release, err := m.Attach(devs.data.f, devs.data.isBlock)
	if err != nil {
		return "", err
	}
	defer release()
	hashDev := dataDev
	if !devs.same {
		if hashDev, release, err = m.Attach(devs.hash.f, devs.hash.isBlock); err != nil {
			return "", err
		}
		defer release()
	}
	params, err := verity.TableParams(g, sb.Salt, o.RootHash, dataDev, hashDev, o.Optional...)
	if err != nil {
		return "", err
	}
	return m.Create(o.Name, deviceUUID(sb.UUID, o.Name), []dm.Target{{Length: g.Sectors(), Type: verity.TargetName, Params: params}})
}

// deviceUUID is the device-mapper UUID in the form cryptsetup uses for
// verity devices, so lsblk and systemd recognise it, cut to the kernel's
// limit.
func deviceUUID(u [16]byte, name string) string {
	uuid := "CRYPT-VERITY-" + hex.EncodeToString(u[:]) + "-" + name
	if len(uuid) >= dm.DM_UUID_LEN {
		uuid = uuid[:dm.DM_UUID_LEN-1]
	}
	return uuid
}

// Close removes the device and the /dev/mapper node Open made; the loop
// devices it attached go with it.
func Close(name string) error {
	return Kernel{}.Remove(name)
}
