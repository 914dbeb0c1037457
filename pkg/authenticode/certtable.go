package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// ErrMalformedTable is returned (wrapped) for a certificate table that does
// not parse.
var ErrMalformedTable = errors.New("malformed certificate table")

// maxCertTable bounds the certificate table read from a hostile image.
const maxCertTable = 16 << 20

// Entry is one WIN_CERTIFICATE of the attribute certificate table.
type Entry struct {
	Revision uint16
	Type     uint16
	Data     []byte // bCertificate: for PKCS_SIGNED_DATA, a DER ContentInfo
}

// ReadCertificateTable returns the entries of f's certificate table (none
// when it is unsigned).
func ReadCertificateTable(f *pe.File) ([]Entry, error) {
	d, err := f.CertificateTable()
	if err != nil || d.Size == 0 {
		return nil, err
	}
	if d.Size > maxCertTable {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformedTable, d.Size)
	}
	buf := make([]byte, d.Size)
	if _, err := f.ReaderAt().ReadAt(buf, int64(d.VirtualAddress)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading certificate table: %w", err)
	}
	return ParseCertificateTable(buf)
}

// ParseCertificateTable splits a certificate table into its entries. Each
// entry's dwLength counts its 8-byte header and data, not the padding to
// the next quadword, which some signers do count: both are accepted.
func ParseCertificateTable(b []byte) ([]Entry, error) {
	var out []Entry
	for off := 0; off < len(b); {
		if len(b)-off < winCertHeaderSize {
			if allZero(b[off:]) {
				break
			}
			return nil, fmt.Errorf("%w: %d stray bytes at its end", ErrMalformedTable, len(b)-off)
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n < winCertHeaderSize || n > len(b)-off {
			return nil, fmt.Errorf("%w: entry at %d has length %d, %d bytes left", ErrMalformedTable, off, n, len(b)-off)
		}
		out = append(out, Entry{
			Revision: binary.LittleEndian.Uint16(b[off+4:]),
			Type:     binary.LittleEndian.Uint16(b[off+6:]),
			Data:     b[off+winCertHeaderSize : off+n],
		})
		off += int(pe.AlignUp(int64(n), certAlign))
	}
	return out, nil
}

// AppendEntry adds a PKCS#7 signature to table as a WIN_CERTIFICATE,
// padded with zeros to a quadword boundary.
func AppendEntry(table, pkcs7 []byte) []byte {
	return appendEntry(table, Entry{Revision: WIN_CERT_REVISION_2_0, Type: WIN_CERT_TYPE_PKCS_SIGNED_DATA, Data: pkcs7})
}

// MarshalCertificateTable encodes entries as ParseCertificateTable reads
// them: each WIN_CERTIFICATE on a quadword boundary, and nothing after the
// last one's padding. Stray zeros at the end of a table read from an image
// are dropped, so that an entry appended after them starts where the
// firmware looks for it.
func MarshalCertificateTable(entries []Entry) []byte {
	var table []byte
	for _, e := range entries {
		table = appendEntry(table, e)
	}
	return table
}

func appendEntry(table []byte, e Entry) []byte {
	n := winCertHeaderSize + len(e.Data)
	var hdr [winCertHeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(n))
	binary.LittleEndian.PutUint16(hdr[4:], e.Revision)
	binary.LittleEndian.PutUint16(hdr[6:], e.Type)
	table = append(table, hdr[:]...)
	table = append(table, e.Data...)
	return append(table, make([]byte, pe.AlignUp(int64(n), certAlign)-int64(n))...)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
