// Package ovmfvars reads and writes an edk2 (OVMF) variable store file
// offline: the NvData firmware volume qemu gives the firmware as its
// pflash "VARS" drive (OVMF_VARS_4M.fd and the like), holding an
// authenticated variable store (edk2 MdeModulePkg/Include/Guid/
// VariableFormat.h, PI specification volume 3 section 3.2.1 for the
// firmware volume header).
//
// A Store keeps the live variables in the order the file holds them;
// Bytes writes them back compacted (deleted copies dropped, free space
// 0xFF), which is what edk2's own reclaim does, so a store never fills up
// however often a variable is replaced, and the same variables give the
// same bytes. Everything outside the variable area (the firmware volume
// header and block map, the fault-tolerant-write areas after the store)
// is written back untouched; the volume header is never changed, so its
// checksum stays right.
//
// Security: Parse takes untrusted bytes. The volume header (signature,
// file system GUID, length, checksum) and the store header are checked
// before any variable is read; every variable's sizes are checked against
// the store, and anything inconsistent gives ErrMalformed, never a panic.
// Memory is bounded by the file's size, itself bounded by MaxFileSize.
package ovmfvars
