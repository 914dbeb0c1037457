#!/bin/sh
# Regenerates the verity goldens with the peer, veritysetup (Debian package
# cryptsetup-bin): the hash devices `veritysetup format` writes for small
# images with a fixed salt and UUID, and their root hashes. golden_test.go
# checks that our trees equal these byte for byte, with no peer needed.
#
# The data of each image is the decimal numbers 1, 2, 3 ... one per line,
# cut to the image's size (golden_test.go makes the same bytes), so nothing
# large is stored:
#
#   NAME      data                        data/hash block size  levels
#   seq129    129 blocks of 4096 bytes    4096 / 4096           2
#   seq300    300 blocks of 512 bytes     512 / 512             3
#
# Usage: mk.sh [DIR]   (default: the directory of this script)
set -eu
out=${1:-$(dirname "$0")}
salt=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
uuid=6f3c2a1e-9b4d-4c5e-8f7a-0123456789ab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

golden() { # NAME BLOCKS BLOCK_SIZE
	seq 1 1000000 | head -c $(($2 * $3)) > "$tmp/$1.data"
	veritysetup format --salt "$salt" --uuid "$uuid" \
		--data-block-size "$3" --hash-block-size "$3" \
		"$tmp/$1.data" "$out/$1.verity" > "$tmp/$1.out"
	sed -n 's/^Root hash:[[:space:]]*//p' "$tmp/$1.out" > "$out/$1.root"
	test -s "$out/$1.root"
	chmod 644 "$out/$1.verity"
}

golden seq129 129 4096
golden seq300 300 512
