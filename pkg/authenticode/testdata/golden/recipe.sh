#!/bin/sh
# Regenerates tiny.efi and tiny.efi.digests with the peers: GNU as and ld
# (binutils) build the image, osslsigncode computes its Authenticode
# digests (it prints them when verifying an image it signed with a
# throwaway key), and efitools' hash-to-efi-sig-list must agree on SHA-256.
# Run from this directory: sh recipe.sh
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

as -o "$tmp/tiny.o" tiny.s
ld -s -m i386pep --subsystem 10 --no-insert-timestamp -e efi_main -o tiny.efi "$tmp/tiny.o"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" \
	-subj /CN=throwaway -days 1 2>/dev/null
: > tiny.efi.digests
for alg in sha1 sha256 sha384 sha512; do
	rm -f "$tmp/signed.efi"
	osslsigncode sign -h "$alg" -key "$tmp/k.pem" -certs "$tmp/c.pem" -in tiny.efi -out "$tmp/signed.efi" >/dev/null
	digest=$(osslsigncode verify -in "$tmp/signed.efi" -CAfile "$tmp/c.pem" |
		sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | tr A-F a-f)
	[ -n "$digest" ] || { echo "osslsigncode printed no $alg digest" >&2; exit 1; }
	echo "$alg $digest" >> tiny.efi.digests
done

efitools=$(hash-to-efi-sig-list tiny.efi "$tmp/hash.esl" | sed -n 's/^HASH IS //p')
grep -qx "sha256 $efitools" tiny.efi.digests || {
	echo "hash-to-efi-sig-list says $efitools, osslsigncode otherwise" >&2
	exit 1
}
