#!/bin/sh
# Regenerates the golden signature lists and authenticated write with
# efitools, the peer (Debian package efitools), from a fresh RSA 2048 key:
#   db.key, db.crt  the key and its self-signed certificate (openssl)
#   db.esl          cert-to-efi-sig-list -g OWNER db.crt
#   db.auth         sign-efi-sig-list -t TIMESTAMP db: db.esl signed by db.key
#   hash.esl        hash-to-efi-sig-list of ../../../authenticode/testdata/golden/tiny.efi
#                   (a SHA-256 list; efitools' fixed owner GUID)
# OWNER and TIMESTAMP are testOwner and testTime of the Go tests. Run from this directory: sh recipe.sh
set -eu
owner=11111111-2222-3333-4444-555555555555
timestamp='2025-01-02 03:04:05'

openssl req -x509 -newkey rsa:2048 -nodes -keyout db.key -out db.crt \
	-subj '/CN=nix-boot-security golden db' -days 36500 2>/dev/null
chmod 600 db.key
cert-to-efi-sig-list -g "$owner" db.crt db.esl
TZ=UTC sign-efi-sig-list -t "$timestamp" -k db.key -c db.crt db db.esl db.auth >/dev/null
hash-to-efi-sig-list ../../../authenticode/testdata/golden/tiny.efi hash.esl >/dev/null
