// Package esp plans and writes the files a boot loader installer puts on
// an EFI system partition (or an XBOOTLDR partition): which wanted files are
// already there and intact, which must be written, which of the files this
// tool owns are no longer wanted, and whether the new ones fit.
//
// Every change goes through FS, a small file-system interface (OSFS is the
// real one; internal/faultfs injects failures for the crash tests), in a
// crash-safe order: each file is written to a temporary name, synced,
// renamed, and its directory synced; entries before the files marked Last
// (loader.conf); removals only after those. At every step the partition
// holds the previous loader.conf's default entry or the new one, complete.
//
// Trust: the partition's contents are not trusted. A wanted file already
// present is kept only if its check passes (size, then the caller's content
// or signature check); anything else is rewritten. The digest record
// (DigestRecordPath, with Plan.Record) only saves work: a Recorded file
// whose XXH64 digest and size are the ones recorded when this tool wrote it
// is kept without the caller's check, so a damaged file is still found (its
// digest differs) at a fraction of a signature check's cost. A record that
// is missing, stale, malformed or of another version costs the full check
// and is rewritten; it never condemns a file by itself. It is no defence
// against someone who can write the partition: they can rewrite the record
// too (a cryptographic hash there would add nothing); that is what the
// firmware's Secure Boot check of each image is for. The record is parsed
// bounded (MaxDigestRecord) and strictly. Files are removed only
// when the caller's Owned says they are this tool's (its own name patterns)
// and its Keep does not protect them; temporary files are recognised by
// TempSuffix alone.
package esp
