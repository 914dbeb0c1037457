// Package nar serialises filesystem trees as Nix archives (NAR), as described
// in the Nix manual's "Nix Archive (NAR) format" section, and hashes them.
//
// The serialiser streams: file contents are copied through a fixed buffer and
// never held whole in memory, so memory use does not depend on file or tree
// size. Trees are read with Lstat; symlinks are recorded, never followed, so
// a symlink loop inside a tree is just two symlinks.
//
// Input trust: the tree is untrusted. Entry types NAR cannot represent
// (devices, fifos, sockets) give an *UnsupportedTypeError; names are whatever
// the filesystem returns, and any name it returns ("..b", unicode, 255 bytes)
// is written as is, sorted byte-wise as Nix does.
package nar
