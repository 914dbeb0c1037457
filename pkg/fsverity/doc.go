// Package fsverity computes fs-verity file digests: what the kernel reports
// for a file with fs-verity enabled (FS_IOC_MEASURE_VERITY) and what
// `fsverity digest` from fsverity-utils prints, for the one parameter set this
// project uses: SHA-256, 4096-byte blocks, no salt.
//
// Layout (Linux Documentation/filesystems/fsverity.rst, "File digest
// computation" and "fs-verity descriptor"): the contents are split into
// 4096-byte blocks, the last one padded with zeros, and each block is hashed.
// The hashes are packed 128 to a block, again padded with zeros, and those
// blocks are hashed, level after level, until one block remains; its hash is
// the root hash. A file of one block has that block's hash as root hash; an
// empty file has an all-zero root hash. The file digest is the SHA-256 of the
// 256-byte fs-verity descriptor, which holds the version (1), the hash
// algorithm (1, SHA-256), log2 of the block size (12), the salt size (0), the
// data size (little-endian) and the root hash.
//
// Hashing streams: a Hasher keeps one partial block per tree level (at most
// eight levels of 4 KiB), whatever the size of the data.
//
// Input trust: the data is only hashed, never interpreted, so any bytes are
// fine. A digest says what a file's contents are; whether that is the right
// file is for the caller to decide against a trusted list (a closure
// manifest).
package fsverity
