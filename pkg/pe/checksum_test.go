package pe

import (
	"debug/pe"
	"encoding/binary"
	"os"
	"testing"
)

// The Debian stub is shipped with a correct CheckSum (written by the linker),
// so recomputing it must give the stored value.
func TestChecksumOfDebianStub(t *testing.T) {
	const stub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	data, err := os.ReadFile(stub)
	if err != nil {
		t.Skip("no systemd-stub: ", err)
	}
	f, err := pe.NewFile(bytesReaderAt(data))
	if err != nil {
		t.Fatal(err)
	}
	oh := f.OptionalHeader.(*pe.OptionalHeader64)
	off := int(binary.LittleEndian.Uint32(data[0x3c:])) + 4 + 20 + 64
	if got := Checksum(data, off); oh.CheckSum != 0 && got != oh.CheckSum {
		t.Fatalf("checksum %#x, stored %#x", got, oh.CheckSum)
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return copy(p, b[off:]), nil
}
