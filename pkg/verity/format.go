package verity

// On-disk constants of the verity superblock (cryptsetup lib/verity/verity.c,
// struct verity_sb) and of hash format 1. All integers are little endian.
const (
	// Signature opens the superblock: "verity" and two NUL bytes.
	Signature = "verity\x00\x00"

	// SuperblockSize is the size of struct verity_sb.
	SuperblockSize = 512

	// SuperblockVersion is the only superblock version there is.
	SuperblockVersion = 1

	// HashTypeNormal is hash format 1: salt before the block, hash blocks
	// padded with zeros to a power-of-two entry size. Format 0 (the
	// original Chrome OS layout, salt after the block) is not supported.
	HashTypeNormal = 1

	// DefaultBlockSize is veritysetup's data and hash block size.
	DefaultBlockSize = 4096

	// DefaultSaltSize is veritysetup's random salt length.
	DefaultSaltSize = 32

	// MaxSaltSize is the room for the salt in the superblock.
	MaxSaltSize = 256

	// MaxLevels is dm-verity's limit on tree depth (DM_VERITY_MAX_LEVELS).
	MaxLevels = 63

	// MinBlockSize and MaxBlockSize bound the block sizes accepted here:
	// powers of two from a sector to 64 KiB. The kernel further limits data
	// blocks to the page size (4096 on x86) when the device is opened.
	MinBlockSize = 512
	MaxBlockSize = 64 * 1024

	// Algorithm is the only hash this package implements.
	Algorithm = "sha256"

	// DigestSize is the size of a SHA-256 digest, which is also its entry
	// size in a hash block (already a power of two).
	DigestSize = 32
)

// Byte offsets of the fields of struct verity_sb.
const (
	offSignature     = 0   // char signature[8]
	offVersion       = 8   // uint32_t version
	offHashType      = 12  // uint32_t hash_type
	offUUID          = 16  // uint8_t uuid[16]
	offAlgorithm     = 32  // char algorithm[32]
	offDataBlockSize = 64  // uint32_t data_block_size
	offHashBlockSize = 68  // uint32_t hash_block_size
	offDataBlocks    = 72  // uint64_t data_blocks
	offSaltSize      = 80  // uint16_t salt_size
	offSalt          = 88  // uint8_t _pad1[6] before, uint8_t salt[256]
	algorithmLen     = 32  // size of algorithm[]
	offPad2          = 344 // uint8_t _pad2[168] up to 512
)
