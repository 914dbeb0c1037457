package authenticode

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Output is where a signed image is written: sequentially, then the
// CheckSum is patched in place once the whole file has been summed.
type Output interface {
	io.Writer
	io.WriterAt
}

// SignImage writes a copy of f signed by s to out. With keep, signatures
// already in f stay and the new one is appended after them; otherwise they
// are replaced. The certificate table starts on an 8-byte boundary (zero
// padding is added, and hashed, as sbsign does) and the CheckSum is
// recomputed. The input is streamed, never held in memory.
func SignImage(out Output, f *pe.File, s *Signer, keep bool) error {
	if err := s.Check(); err != nil {
		return err
	}
	certs, err := f.CertificateTable()
	if err != nil {
		return err
	}
	dataEnd := f.Size
	var table []byte
	if certs.Size != 0 {
		if int64(certs.VirtualAddress)+int64(certs.Size) != f.Size {
			return fmt.Errorf("%w: the certificate table does not end the file", ErrBadLayout)
		}
		dataEnd = int64(certs.VirtualAddress)
		if keep {
			entries, err := ReadCertificateTable(f)
			if err != nil {
				return err
			}
			// Re-encoded, not copied: zeros after the last entry would
			// put the new one where no reader looks for it.
			table = MarshalCertificateTable(entries)
		}
	}
	tableStart := pe.AlignUp(dataEnd, certAlign)
	digest, err := hashRange(f, sha256.New(), tableStart)
	if err != nil {
		return err
	}
	sig, err := s.Sign(digest)
	if err != nil {
		return err
	}
	table = AppendEntry(table, sig)

	hdr := append([]byte(nil), f.Header...)
	dirOff, ok := f.DataDirectoryOffset(pe.IMAGE_DIRECTORY_ENTRY_SECURITY)
	if !ok {
		return fmt.Errorf("%w: the image has no certificate table directory entry", ErrBadLayout)
	}
	binary.LittleEndian.PutUint32(hdr[dirOff:], uint32(tableStart))
	binary.LittleEndian.PutUint32(hdr[dirOff+4:], uint32(len(table)))
	if tableStart+int64(len(table)) > 1<<32-1 {
		return fmt.Errorf("%w: signed image would exceed 4 GiB", ErrBadLayout)
	}
	ckOff := f.ChecksumOffset()
	binary.LittleEndian.PutUint32(hdr[ckOff:], 0)

	var ck pe.Checksummer
	w := io.MultiWriter(out, &ck)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	body := io.NewSectionReader(f.ReaderAt(), int64(len(hdr)), dataEnd-int64(len(hdr)))
	if _, err := io.CopyBuffer(w, body, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("copying image: %w", err)
	}
	if _, err := w.Write(make([]byte, tableStart-dataEnd)); err != nil {
		return err
	}
	if _, err := w.Write(table); err != nil {
		return err
	}
	return PatchChecksum(out, ckOff, ck.Sum(tableStart+int64(len(table))))
}

// PatchChecksum writes the CheckSum field at off.
func PatchChecksum(out io.WriterAt, off int64, sum uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], sum)
	if _, err := out.WriteAt(b[:], off); err != nil {
		return fmt.Errorf("writing CheckSum: %w", err)
	}
	return nil
}
