package fsverity

// The kernel side of fs-verity: FS_IOC_ENABLE_VERITY and
// FS_IOC_MEASURE_VERITY (include/uapi/linux/fsverity.h; the kernel's
// Documentation/filesystems/fsverity.rst lists the errors each returns).
// These trust the kernel: a measured digest is what the filesystem verifies
// every read against, so comparing it with a manifest's digest checks the
// whole file without reading it.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The parameters Enable asks for: the ones `fsverity digest` uses by
// default and manifests record (SHA-256, 4096-byte Merkle tree blocks, no
// salt), so a file enabled here measures to the manifest's digest.
const (
	enableHashAlgorithm = unix.FS_VERITY_HASH_ALG_SHA256
	enableBlockSize     = 4096
)

// Errors Enable and Measure return, each wrapping the kernel's errno as
// well (errors.Is works with both).
var (
	// ErrUnsupported: the kernel or the filesystem has no fs-verity
	// (EOPNOTSUPP, ENOTTY).
	ErrUnsupported = errors.New("the filesystem does not support fs-verity (ext4 needs the verity feature: mkfs.ext4 -O verity, or tune2fs -O verity on an unmounted filesystem; the kernel needs CONFIG_FS_VERITY)")
	// ErrNotEnabled: the file has no fs-verity (ENODATA from Measure).
	ErrNotEnabled = errors.New("fs-verity is not enabled on the file")
	// ErrAlreadyEnabled: Enable on a file that has it (EEXIST).
	ErrAlreadyEnabled = errors.New("fs-verity is already enabled on the file")
	// ErrOpenForWriting: some process holds the file open for writing, or
	// mapped writable (ETXTBSY); the kernel refuses to freeze it.
	ErrOpenForWriting = errors.New("the file is open for writing")
	// ErrReadOnlyFS: enabling writes the Merkle tree (EROFS).
	ErrReadOnlyFS = errors.New("the filesystem is mounted read-only")
	// ErrBusy: another FS_IOC_ENABLE_VERITY runs on the file (EBUSY).
	ErrBusy = errors.New("fs-verity is being enabled on the file by another process")
	// ErrFileTooLarge: the kernel cannot build a tree this large (EFBIG).
	ErrFileTooLarge = errors.New("the file is too large for fs-verity")
	// ErrHashUnavailable: the kernel knows the hash algorithm but has not
	// got it (ENOPKG: a crypto module not loaded; SHA-256 is built into
	// distribution kernels, SHA-512 often a module).
	ErrHashUnavailable = errors.New("the kernel's crypto API lacks the hash algorithm (load its module)")
	// ErrNotRegular: fs-verity is for regular files only.
	ErrNotRegular = errors.New("not a regular file")
	// ErrAlgorithm: the file was enabled with a hash other than SHA-256,
	// so its digest cannot be compared with a SHA-256 one.
	ErrAlgorithm = errors.New("fs-verity digest algorithm is not sha256")
)

// Enable turns fs-verity on for f with SHA-256, 4096-byte blocks and no
// salt. f must be a regular file opened read-only, with no writer anywhere;
// the caller needs write permission on the file (root has it) and the
// filesystem must be mounted read-write. The kernel reads the whole file
// to build the tree, so this takes as long as hashing it. A file that has
// fs-verity already gives ErrAlreadyEnabled, whatever its parameters:
// Measure tells whether they are the manifest's.
func Enable(f *os.File) error {
	return control(f, func(fd uintptr) error { return EnableFd(int(fd)) })
}

// EnableFd is Enable on a raw descriptor (a walk through openat).
//
// ext4 (Debian's 6.1 kernel) sets the file's mtime to the time of enabling,
// which would break a Nix store's invariant (mtime 1) and the check of it:
// EnableFd puts the mtime back as it was (the ctime changes, as for any
// change of the inode, and nothing checks it).
func EnableFd(fd int) error {
	var before unix.Stat_t
	if err := unix.Fstat(fd, &before); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if before.Mode&unix.S_IFMT != unix.S_IFREG {
		return ErrNotRegular
	}
	arg := unix.FsverityEnableArg{
		Version:        1,
		Hash_algorithm: enableHashAlgorithm,
		Block_size:     enableBlockSize,
	}
	if err := classify("FS_IOC_ENABLE_VERITY", ioctl(fd, unix.FS_IOC_ENABLE_VERITY, unsafe.Pointer(&arg))); err != nil {
		return err
	}
	var after unix.Stat_t
	if err := unix.Fstat(fd, &after); err != nil {
		return fmt.Errorf("fstat after FS_IOC_ENABLE_VERITY: %w", err)
	}
	if after.Mtim == before.Mtim {
		return nil
	}
	if err := futimens(fd, before.Mtim); err != nil {
		return fmt.Errorf("fs-verity enabled, but restoring the modification time: %w", err)
	}
	return nil
}

// futimens sets the descriptor's mtime and leaves its atime alone
// (utimensat with a NULL path acts on the descriptor itself, whatever the
// mode it was opened with).
func futimens(fd int, mtime unix.Timespec) error {
	times := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, mtime}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// measureArg is struct fsverity_digest with room for the largest digest
// the kernel knows (SHA-512).
type measureArg struct {
	Algorithm uint16
	Size      uint16
	Digest    [sha512Size]byte
}

const sha512Size = 64

// Measure returns the fs-verity digest the kernel holds for f: the SHA-256
// of the file's fs-verity descriptor, which covers its size, Merkle tree
// root, block size and salt (what `fsverity measure` prints). No file data
// is read. A file without fs-verity gives ErrNotEnabled; one enabled with
// another hash algorithm gives ErrAlgorithm.
func Measure(f *os.File) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	err := control(f, func(fd uintptr) error {
		var err error
		d, err = MeasureFd(int(fd))
		return err
	})
	return d, err
}

// MeasureFd is Measure on a raw descriptor.
func MeasureFd(fd int) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	if err := needRegular(fd); err != nil {
		return d, err
	}
	arg := measureArg{Size: sha512Size}
	if err := classify("FS_IOC_MEASURE_VERITY", ioctl(fd, unix.FS_IOC_MEASURE_VERITY, unsafe.Pointer(&arg))); err != nil {
		return d, err
	}
	if arg.Algorithm != unix.FS_VERITY_HASH_ALG_SHA256 || arg.Size != sha256.Size {
		return d, fmt.Errorf("%w (algorithm %d, %d-byte digest)", ErrAlgorithm, arg.Algorithm, arg.Size)
	}
	copy(d[:], arg.Digest[:sha256.Size])
	return d, nil
}

// control runs fn on f's descriptor without switching f to blocking mode
// (as f.Fd() would).
func control(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var inner error
	if err := rc.Control(func(fd uintptr) { inner = fn(fd) }); err != nil {
		return err
	}
	return inner
}

// needRegular refuses anything but a regular file before the ioctl: the
// kernel's answers for directories and devices (EISDIR, EINVAL, ENOTTY)
// would otherwise read as "unsupported".
func needRegular(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ErrNotRegular
	}
	return nil
}

// ioctl issues req, again when a signal interrupted it (enabling a large
// file can be interrupted and leaves nothing behind).
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		default:
			return errno
		}
	}
}

// sentinels are the errnos callers branch on, by meaning.
var sentinels = map[syscall.Errno]error{
	unix.EOPNOTSUPP: ErrUnsupported,
	unix.ENOTTY:     ErrUnsupported,
	unix.ENODATA:    ErrNotEnabled,
	unix.EEXIST:     ErrAlreadyEnabled,
	unix.ETXTBSY:    ErrOpenForWriting,
	unix.EROFS:      ErrReadOnlyFS,
	unix.EBUSY:      ErrBusy,
	unix.EFBIG:      ErrFileTooLarge,
	unix.ENOPKG:     ErrHashUnavailable,
	unix.EISDIR:     ErrNotRegular,
	unix.EOVERFLOW:  ErrAlgorithm,
}

// classify maps the kernel's errno to this package's sentinels, keeping the
// errno reachable.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("%s: %w", op, err)
	}
	sentinel, ok := sentinels[errno]
	if !ok {
		return fmt.Errorf("%s: %w", op, errno)
	}
	return fmt.Errorf("%w (%s: %w)", sentinel, op, errno)
}
