//go:build ignore

// trimstub shrinks a real PE image (systemd-stub, a kernel) for fuzz seeds: every section's raw
// data is cut to at most one FileAlignment unit (512 bytes for Debian's
// stub), the COFF symbol table after the last section and any signature (a
// signed kernel's) are dropped. The
// headers, section table, memory layout (VirtualAddress, VirtualSize) and
// the small sections the parsers read (.sdmagic, .sbat) stay as the real
// stub has them; the code the fuzzer never interprets goes.
//
// Usage: go run trimstub.go IN OUT
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "trimstub:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	pe := int(le.Uint32(b[0x3c:]))
	fh := pe + 4
	nsec := int(le.Uint16(b[fh+2:]))
	opt := fh + 20
	fileAlign := le.Uint32(b[opt+36:])
	sizeOfHeaders := le.Uint32(b[opt+60:])
	table := opt + int(le.Uint16(b[fh+16:]))
	type sec struct{ hdr, ptr, size int }
	var secs []sec
	for i := 0; i < nsec; i++ {
		h := table + 40*i
		secs = append(secs, sec{h, int(le.Uint32(b[h+20:])), int(le.Uint32(b[h+16:]))})
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].ptr < secs[j].ptr })
	res := append([]byte(nil), b[:sizeOfHeaders]...)
	for _, s := range secs {
		if s.size == 0 {
			continue
		}
		keep := min(s.size, int(fileAlign))
		le.PutUint32(res[s.hdr+20:], uint32(len(res)))
		le.PutUint32(res[s.hdr+16:], uint32(keep))
		res = append(res, b[s.ptr:s.ptr+keep]...)
	}
	le.PutUint32(res[fh+8:], 0)     // PointerToSymbolTable
	le.PutUint32(res[fh+12:], 0)    // NumberOfSymbols
	if le.Uint32(b[opt+108:]) > 4 { // the certificate table's data directory entry
		le.PutUint64(res[opt+112+4*8:], 0)
	}
	return os.WriteFile(out, res, 0o644)
}
