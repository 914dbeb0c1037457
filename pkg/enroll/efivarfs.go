package enroll

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// DefaultEfivarfs is where Linux mounts efivarfs.
const DefaultEfivarfs = "/sys/firmware/efi/efivars"

// maxVariable bounds what is read of one variable: firmware limits a
// variable to tens of KiB (edk2: 64 KiB with authenticated variables).
const maxVariable = 1 << 20

// ErrNoVariable is returned for a variable the firmware does not hold.
var ErrNoVariable = errors.New("no such EFI variable")

// FileFlags reads and clears the immutable inode flag efivarfs puts on
// variables whose deletion could keep a machine from booting (PK, KEK,
// db among them): writing their file needs the flag cleared first, as
// chattr -i does.
type FileFlags interface {
	Immutable(f *os.File) (bool, error)
	ClearImmutable(f *os.File) error
}

// FS_IMMUTABLE_FL is the immutable bit of FS_IOC_GETFLAGS (linux/fs.h).
const FS_IMMUTABLE_FL = 0x00000010

// ioctlFlags uses FS_IOC_GETFLAGS and FS_IOC_SETFLAGS.
type ioctlFlags struct{}

func (ioctlFlags) Immutable(f *os.File) (bool, error) {
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		return false, nil // a filesystem without inode flags has no immutable files
	}
	if err != nil {
		return false, err
	}
	return flags&FS_IMMUTABLE_FL != 0, nil
}

func (ioctlFlags) ClearImmutable(f *os.File) error {
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^FS_IMMUTABLE_FL))
}

// Efivarfs reads and writes the running firmware's variables through
// efivarfs mounted at Root (DefaultEfivarfs when empty; a directory of
// files in efivarfs' format for tests).
type Efivarfs struct {
	Root  string
	Flags FileFlags // FS_IOC_GETFLAGS/SETFLAGS when nil
}

func (e Efivarfs) path(v efivar.Variable) string {
	root := e.Root
	if root == "" {
		root = DefaultEfivarfs
	}
	return filepath.Join(root, v.EfivarfsName())
}

func (e Efivarfs) flags() FileFlags {
	if e.Flags == nil {
		return ioctlFlags{}
	}
	return e.Flags
}

// Read returns v's attributes and data (ErrNoVariable when absent).
func (e Efivarfs) Read(v efivar.Variable) (attrs uint32, data []byte, err error) {
	f, err := os.Open(e.path(v))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil, fmt.Errorf("%w: %s", ErrNoVariable, v.Name)
	}
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxVariable+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", v.Name, err)
	}
	if len(b) > maxVariable || len(b) < 4 {
		return 0, nil, fmt.Errorf("%s: %d bytes: not an efivarfs variable", v.Name, len(b))
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, b[4:], nil
}

// readByte reads a one-byte status variable (SecureBoot, SetupMode).
func (e Efivarfs) readByte(v efivar.Variable) (byte, error) {
	_, data, err := e.Read(v)
	if err != nil {
		return 0, err
	}
	if len(data) != 1 {
		return 0, fmt.Errorf("%s: %d bytes of data, want 1", v.Name, len(data))
	}
	return data[0], nil
}

// SetupMode reads the SetupMode variable: 1 means setup mode. Its absence
// is an error (not UEFI, or efivarfs not mounted), never setup mode.
func (e Efivarfs) SetupMode() (bool, error) {
	b, err := e.readByte(efivar.SetupMode)
	if err != nil {
		return false, err
	}
	return b == 1, nil
}

// Apply writes w.Auth (the signed write) to the variable's efivarfs file
// in one write(2), which efivarfs turns into one SetVariable call; the
// firmware's refusal comes back as the write's error.
func (e Efivarfs) Apply(w Write) error {
	if w.Auth == nil {
		return fmt.Errorf("%s: the write is not signed", w.Variable.Name)
	}
	path := e.path(w.Variable)
	if f, err := os.Open(path); err == nil {
		immutable, err := e.flags().Immutable(f)
		if err == nil && immutable {
			err = e.flags().ClearImmutable(f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("clearing the immutable flag of %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	content := w.Variable.EfivarfsContent(w.Auth)
	n, err := f.Write(content)
	if err == nil && n != len(content) {
		err = io.ErrShortWrite
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
