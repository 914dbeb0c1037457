// Package tpm groups the project's TPM 2.0 transports. Each backend lives in
// its own subpackage and hands out a github.com/google/go-tpm
// transport.TPMCloser, so code that talks to a TPM never knows which one it
// has:
//
//   - swtpm: the swtpm emulator over a Unix socket (tests, no VM needed).
//
// A TPM's answers are trusted no more than the TPM itself: callers check
// response codes, transports only check framing (a response shorter than its
// header, or longer than MaxResponse, is an error, never a panic).
package tpm

// MaxResponse bounds a TPM response (TPM 2.0 Part 2 caps a response at a few
// KiB; 1 MiB leaves room for vendor extensions and stops a broken peer from
// making us allocate without limit).
const MaxResponse = 1 << 20
