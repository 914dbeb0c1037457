package measure

import "errors"

// Errors callers branch on. Returned errors wrap them with the offending
// value, so the message names what was wrong.
var (
	// ErrUnknownBank: a PCR bank other than sha1, sha256, sha384, sha512.
	ErrUnknownBank = errors.New("unknown PCR bank (want sha1, sha256, sha384 or sha512)")
	// ErrUnknownPhase: a phase path word systemd-pcrphase never measures.
	ErrUnknownPhase = errors.New("unknown boot phase word (want enter-initrd, leave-initrd, sysinit, ready, shutdown or final)")
	// ErrUnknownStubVersion: a systemd-stub version whose measurements we
	// do not know, so any prediction for it could be wrong.
	ErrUnknownStubVersion = errors.New("unknown systemd-stub version")
	// ErrStubTableMismatch: a stub whose own table of section names does
	// not agree with the rules of the version its .sdmagic names.
	ErrStubTableMismatch = errors.New("the stub's section table does not match its version's measuring rules")
	// ErrNoStubVersion: .sdmagic does not hold a systemd-stub version.
	ErrNoStubVersion = errors.New("no systemd-stub version in .sdmagic")
	// ErrDuplicateSection: the same section name given twice.
	ErrDuplicateSection = errors.New("section given twice")
	// ErrNoLinux: no non-empty .linux section; the stub refuses to boot.
	ErrNoLinux = errors.New("no .linux section")
	// ErrNotRSA: a PCR signing key that is not RSA (systemd only
	// verifies RSA signatures for signed PCR policies).
	ErrNotRSA = errors.New("PCR signing key is not an RSA key")
	// ErrKeyMismatch: the public key is not the private key's.
	ErrKeyMismatch = errors.New("public key does not match the private key")
	// ErrInvalidPCRSig: a .pcrsig that is not systemd's JSON.
	ErrInvalidPCRSig = errors.New("invalid PCR signature JSON")
	// ErrBadSignature: a .pcrsig entry whose signature does not verify.
	ErrBadSignature = errors.New("PCR policy signature does not verify")
)
