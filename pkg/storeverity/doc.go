// Package storeverity puts a closure's files under fs-verity and checks a
// store by the digests the kernel reports, against a version 2 closure
// manifest (which records each regular file's fs-verity digest: SHA-256,
// 4096-byte blocks, no salt).
//
// Enable first checks every regular file's contents against the manifest
// (a file that has fs-verity already is measured, not read), and enables
// fs-verity only when the whole closure matches; then it enables it where
// missing and measures every file again, so what is left frozen is what
// the manifest says, even if a file changed between the two passes.
//
// CheckFile is the check without reading contents: each regular file's
// FS_IOC_MEASURE_VERITY must equal the manifest's digest; the kernel then
// verifies every later read of the file against that digest. A file
// without fs-verity fails, unless the caller asks for it to be hashed in
// full instead (and is told which files were).
//
// Probe tells in one ioctl, before a closure is hashed, whether the
// filesystem under a store path can take fs-verity at all.
//
// Input trust: the manifest is trusted once its digest is checked (the
// caller passes the expected digest, or trusts the file); the store is
// hostile and is walked by pkg/closure without following symlinks; the
// kernel's measurements are trusted.
package storeverity
