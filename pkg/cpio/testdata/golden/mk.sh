#!/bin/sh
# Regenerates tree.gnu.cpio: GNU cpio's newc archive (Debian package cpio,
# 2.13) of the small tree below, every mtime 0, owner 0:0, inodes and
# device numbers made reproducible. golden_test.go checks, with no peer,
# that our writer's archive of the same tree equals it byte for byte except
# where the two differ on purpose:
#
#   - inodes: GNU cpio --reproducible counts from 0, we count from 1 and
#     leave 0 to the trailer;
#   - nlink: GNU cpio stores a directory's real link count, we store 1;
#   - GNU cpio pads the archive to a 512-byte block, we do not, so our
#     archives concatenate as the kernel reads them.
#
# tree.cpio is our own archive of the same tree, pinned byte for byte; it is
# regenerated with: go test ./pkg/cpio -run 'TestGolden$' -update
#
# Usage: mk.sh [DIR]   (default: the directory of this script)
set -eu
out=$(cd "${1:-$(dirname "$0")}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 022
cd "$tmp"

mkdir bin etc etc/ssl sbin tmp
printf '#!x' > bin/busybox
ln -s busybox bin/sh
printf '1' > e1
printf '22' > e22
printf '333' > e333
printf '4444' > e4444
: > etc/empty
printf 'hello\n' > etc/hostname
printf '55555' > etc/ssl/five
seq 1 1000 > etc/numbers
printf '#!su' > sbin/su

chmod 755 bin etc sbin bin/busybox
chmod 700 etc/ssl
chmod 1777 tmp
chmod 644 e1 e22 e333 etc/empty etc/hostname etc/numbers
chmod 600 e4444 etc/ssl/five
chmod 4755 sbin/su
find . -exec touch -h -d @0 {} +

find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	cpio -o -H newc --reproducible -R 0:0 --quiet > "$out/tree.gnu.cpio"
