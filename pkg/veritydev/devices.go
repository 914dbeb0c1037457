package veritydev

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// device is an opened data or hash device.
type device struct {
	f       *os.File
	r       *io.SectionReader
	isBlock bool
	st      unix.Stat_t
}

// devices are an image and its hash device; same says they are one, in
// which case hash is data.
type devices struct {
	data, hash *device
	same       bool
}

func openDevices(image, hashPath string) (*devices, error) {
	data, err := openDevice(image)
	if err != nil {
		return nil, err
	}
	hash, err := openDevice(hashPath)
	if err != nil {
		data.f.Close()
		return nil, err
	}
	d := &devices{data: data, hash: hash}
	if sameDevice(data, hash) {
		hash.f.Close()
		d.hash, d.same = data, true
	}
	return d, nil
}

func (d *devices) close() {
	d.data.f.Close()
	if !d.same {
		d.hash.f.Close()
	}
}

// sameDevice says whether two opened paths are one device: the same file
// (device and inode; a hard link or another path to it counts), or block
// device nodes with one device number.
func sameDevice(a, b *device) bool {
	if a.isBlock || b.isBlock {
		return a.isBlock && b.isBlock && a.st.Rdev == b.st.Rdev
	}
	return a.st.Dev == b.st.Dev && a.st.Ino == b.st.Ino
}

func openDevice(path string) (*device, error) {
	f, r, isBlock, err := OpenSized(path)
	if err != nil {
		return nil, err
	}
	d := &device{f: f, r: r, isBlock: isBlock}
	if err := unix.Fstat(int(f.Fd()), &d.st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	return d, nil
}

// OpenSized opens a file or block device read-only with its size (Stat
// says 0 for block devices, so the size comes from seeking to the end).
// Anything else is refused; it is opened non-blocking so that a FIFO given
// as an image is refused at once instead of waiting for a writer.
func OpenSized(path string) (f *os.File, r *io.SectionReader, isBlock bool, err error) {
	f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
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
