# A small real closure for the demo: a "system" that references a library
# and a program, built with host tools only (no nixpkgs needed).
# mk is the test fixtures' helper: its comment says why every script ends
# with `exit 0` (Nix 2.8 otherwise kills some builders with signal 9).
let
  inherit (import ../internal/nixtest/builders.nix) mk;
  lib = mk "demo-lib" "mkdir -p $out/lib; printf 'library v1\n' > $out/lib/libdemo.txt";
  hello = mk "demo-hello" ''
    mkdir -p $out/bin
    printf '#!/bin/sh\necho hello from ${lib}\n' > $out/bin/hello
    chmod +x $out/bin/hello
  '';
in
mk "demo-system" "mkdir -p $out; ln -s ${hello}/bin/hello $out/hello; echo ${lib} > $out/libs"
