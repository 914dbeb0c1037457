package nar

// Tokens of the NAR grammar. Every token is written as a NAR string:
// u64le(len) || bytes || zero padding to a multiple of 8.
const (
	magic          = "nix-archive-1"
	tokOpen        = "("
	tokClose       = ")"
	tokType        = "type"
	tokRegular     = "regular"
	tokExecutable  = "executable"
	tokContents    = "contents"
	tokSymlink     = "symlink"
	tokTarget      = "target"
	tokDirectory   = "directory"
	tokEntry       = "entry"
	tokName        = "name"
	tokNode        = "node"
	executableFlag = 0o100 // NAR's "executable" is the owner's x bit
)
