package pe

import "encoding/binary"

// Checksum computes the PE image checksum (the algorithm of imagehlp's
// CheckSumMappedFile): a 16-bit one's-complement-style sum of the file with
// the CheckSum field itself taken as zero, plus the file length.
// checksumOffset is the file offset of OptionalHeader.CheckSum.
func Checksum(image []byte, checksumOffset int) uint32 {
	var sum uint64
	n := len(image)
	for i := 0; i+1 < n; i += 2 {
		if i == checksumOffset || i == checksumOffset+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(image[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if n%2 == 1 {
		sum += uint64(image[n-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(n)
}
