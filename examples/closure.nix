# A small real closure for the demo: a "system" that references a library
# and a program, built with host tools only (no nixpkgs needed).
let
  mk = name: script: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };
  lib = mk "demo-lib" "mkdir -p $out/lib; printf 'library v1\n' > $out/lib/libdemo.txt";
  hello = mk "demo-hello" ''
    mkdir -p $out/bin
    printf '#!/bin/sh\necho hello from ${lib}\n' > $out/bin/hello
    chmod +x $out/bin/hello
  '';
in
mk "demo-system" "mkdir -p $out; ln -s ${hello}/bin/hello $out/hello; echo ${lib} > $out/libs"
