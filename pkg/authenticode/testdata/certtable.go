//go:build ignore

// certtable cuts a signed PE image's certificate table (the security data
// directory's bytes) and the first entry's PKCS#7 out into files, for the
// fuzz seeds. Only for images nix-uki, sbsign or osslsigncode just signed.
//
// Usage: go run certtable.go IMAGE TABLE PKCS7
package main

import (
	"encoding/binary"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "certtable:", err)
		os.Exit(1)
	}
}

func run(img, tableOut, pkcs7Out string) error {
	b, err := os.ReadFile(img)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	opt := int(le.Uint32(b[0x3c:])) + 4 + 20
	dir := opt + 112 + 4*8 // data directory 4: the certificate table
	off, size := le.Uint32(b[dir:]), le.Uint32(b[dir+4:])
	if size == 0 {
		return fmt.Errorf("%s is not signed", img)
	}
	table := b[off : off+size]
	n := le.Uint32(table)
	if err := os.WriteFile(tableOut, table, 0o644); err != nil {
		return err
	}
	return os.WriteFile(pkcs7Out, table[8:n], 0o644)
}
