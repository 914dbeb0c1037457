// Package pe reads and writes the parts of PE32+ images (Microsoft PE/COFF
// specification) that UKIs need: headers, the section table, appended
// sections, the COFF symbol table and the CheckSum.
//
// Security: images are untrusted input; every offset and size read from them
// is bounds-checked and a malformed image gives an error, never a panic.
package pe
