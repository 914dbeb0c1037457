// Package verity computes, writes and checks dm-verity hash trees in the
// layout of cryptsetup's `veritysetup format` (hash format 1, superblock
// version 1), so that the kernel's dm-verity target can verify a read-only
// store image block by block as it is read.
//
// Layout (cryptsetup lib/verity; Linux Documentation/admin-guide/
// device-mapper/verity.rst): an optional 512-byte superblock at the start of
// the hash device, then the tree from the first hash block after it, top
// level first and level 0 (the digests of the data blocks) last. Every entry
// is SHA-256(salt || block); a hash block holds HashBlockSize/32 entries and
// its unused tail is zero. The root hash is SHA-256(salt || top-level block)
// (or of the only data block when there is just one).
//
// Hashing is parallel over all cores and streaming: data is read through an
// io.ReaderAt in bounded chunks per worker and never held whole; only the
// hash levels are kept in memory (32 bytes per data block, 8 MiB for 1 GiB).
//
// Security: the superblock and hash device are untrusted. Every size read
// from them is bounded (block sizes, salt length, level count, tree size
// against the device size) and a malformed or truncated hash device gives an
// error, never a panic or an unbounded allocation. Nothing is trusted until
// it hashes up to a root hash the caller got from a trusted place (the
// signed kernel command line): Verify and CheckRoot compare against that
// root, never against a value stored next to the data.
package verity
