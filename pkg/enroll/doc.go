// Package enroll puts a machine owner's Secure Boot keys (pkg/sbkeys)
// into firmware: it plans the writes (db, then KEK, then PK, whose write
// ends setup mode, so it comes last), signs them as time-based
// authenticated variables (pkg/efivar), and applies them to a Target:
// the running firmware through efivarfs, or an OVMF variable store file
// offline (pkg/ovmfvars). It also reads what firmware has enrolled
// (Status).
//
// The Microsoft UEFI CAs (needed by option ROMs of graphics and network
// cards, and by other operating systems' loaders) are added to db and KEK
// only on request, taken from a variable store that holds them (OVMF's
// OVMF_VARS_4M.ms.fd), never from a copy kept here.
//
// Security: the key set is trusted as the owner's. What is read back from
// efivarfs or a variable store is untrusted: sizes are bounded, and
// signature lists that do not parse are reported, never a panic.
// Enrollment refuses firmware that is not in setup mode unless forced:
// replacing keys in user mode needs writes signed by the enrolled PK,
// which a new key set cannot make.
package enroll
