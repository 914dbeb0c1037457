package bootspec

// Namespaces of the top-level object (nixos/modules/system/activation/
// bootspec.nix). Other namespaces are extensions and are ignored.
const (
	KeyV1             = "org.nixos.bootspec.v1"
	KeySpecialisation = "org.nixos.specialisation.v1"
)

// FileName is the document's name in a system toplevel.
const FileName = "boot.json"

// MaxSize bounds a document read into memory; NixOS writes a few KiB, a
// system with many specialisations a few tens.
const MaxSize = 4 << 20

// MaxDepth bounds specialisation nesting (a specialisation of a
// specialisation ...); NixOS builds one level.
const MaxDepth = 4
