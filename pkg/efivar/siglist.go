package efivar

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is returned for a signature list that does not parse.
var ErrMalformed = errors.New("malformed EFI signature list")

// SignatureData is one EFI_SIGNATURE_DATA entry.
type SignatureData struct {
	Owner GUID
	Data  []byte
}

// SignatureList is one EFI_SIGNATURE_LIST: entries of one type and one
// size. A database (the value of db, KEK...) is a concatenation of lists.
type SignatureList struct {
	Type       GUID
	Header     []byte
	Signatures []SignatureData
}

// X509List is a list holding one DER certificate, as
// cert-to-efi-sig-list makes it: certificates differ in size, so each
// needs a list of its own.
func X509List(owner GUID, der []byte) SignatureList {
	return SignatureList{Type: EFI_CERT_X509_GUID, Signatures: []SignatureData{{Owner: owner, Data: der}}}
}

// SHA256List is a list of image digests (for db or dbx).
func SHA256List(owner GUID, digests ...[32]byte) SignatureList {
	l := SignatureList{Type: EFI_CERT_SHA256_GUID}
	for _, d := range digests {
		l.Signatures = append(l.Signatures, SignatureData{Owner: owner, Data: append([]byte(nil), d[:]...)})
	}
	return l
}

// MarshalSignatureLists encodes lists one after the other: the data of a
// db, KEK, PK or dbx write.
func MarshalSignatureLists(lists ...SignatureList) ([]byte, error) {
	var out bytes.Buffer
	for i, l := range lists {
		if len(l.Signatures) == 0 {
			return nil, fmt.Errorf("signature list %d: no entries", i)
		}
		sigSize := signatureOwnerSize + len(l.Signatures[0].Data)
		total := signatureListHeaderSize + len(l.Header) + len(l.Signatures)*sigSize
		for _, s := range l.Signatures {
			if signatureOwnerSize+len(s.Data) != sigSize {
				return nil, fmt.Errorf("signature list %d: entries of different sizes", i)
			}
		}
		if total > math.MaxUint32 {
			return nil, fmt.Errorf("signature list %d: too large", i)
		}
		var h [signatureListHeaderSize]byte
		copy(h[:16], l.Type[:])
		le.PutUint32(h[16:], uint32(total))
		le.PutUint32(h[20:], uint32(len(l.Header)))
		le.PutUint32(h[24:], uint32(sigSize))
		out.Write(h[:])
		out.Write(l.Header)
		for _, s := range l.Signatures {
			out.Write(s.Owner[:])
			out.Write(s.Data)
		}
	}
	return out.Bytes(), nil
}

// ParseSignatureLists decodes a concatenation of signature lists, e.g. a
// db read back through efivarfs (without its 4 attribute bytes).
func ParseSignatureLists(b []byte) ([]SignatureList, error) {
	var lists []SignatureList
	for off := 0; off < len(b); {
		if len(b)-off < signatureListHeaderSize {
			return nil, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrMalformed, len(b)-off, off)
		}
		h := b[off : off+signatureListHeaderSize]
		total, hdrSize, sigSize := uint64(le.Uint32(h[16:])), uint64(le.Uint32(h[20:])), uint64(le.Uint32(h[24:]))
		body := total - signatureListHeaderSize - hdrSize
		switch {
		case total > uint64(len(b)-off) || total < signatureListHeaderSize+hdrSize:
			return nil, fmt.Errorf("%w: list at offset %d: size %d does not fit", ErrMalformed, off, total)
		case sigSize < signatureOwnerSize || body%sigSize != 0:
			return nil, fmt.Errorf("%w: list at offset %d: entry size %d does not divide %d", ErrMalformed, off, sigSize, body)
		}
		var l SignatureList
		copy(l.Type[:], h[:16])
		p := off + signatureListHeaderSize
		if hdrSize > 0 {
			l.Header = append([]byte(nil), b[p:p+int(hdrSize)]...)
		}
		p += int(hdrSize)
		for end := off + int(total); p < end; p += int(sigSize) {
			var s SignatureData
			copy(s.Owner[:], b[p:])
			s.Data = append([]byte(nil), b[p+signatureOwnerSize:p+int(sigSize)]...)
			l.Signatures = append(l.Signatures, s)
		}
		lists = append(lists, l)
		off += int(total)
	}
	return lists, nil
}
