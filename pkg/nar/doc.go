// Package nar serialises filesystem trees as Nix archives (NAR), as described
// in the Nix manual's "Nix Archive (NAR) format" section, and hashes them.
//
// The serialiser streams: file contents are copied through a fixed buffer and
// never held whole in memory, so memory use does not depend on file or tree
// size. Trees are listed with lstat; symlinks are recorded, never followed, so
// a symlink loop inside a tree is just two symlinks. DumpAt starts from a
// directory descriptor, so a caller can make sure no symlink is followed above
// the tree either.
//
// Input trust: the tree is untrusted and may change while it is read. Entry
// types NAR cannot represent (devices, fifos, sockets) give an
// *UnsupportedTypeError; every file and directory is opened without following
// symlinks and without blocking, and must be the entry that was listed and
// keep its size and times until it is read to its end, or the dump fails with
// ErrChangedWhileReading. Names are whatever the filesystem returns, and any
// name it returns ("..b", unicode, 255 bytes) is written as is, sorted
// byte-wise as Nix does.
package nar
