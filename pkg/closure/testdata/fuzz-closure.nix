# A small closure for the fuzz seeds (see mkfuzzseeds): a file, an executable
# and a directory referring to both, and an .attrs.json of its closure made
# by exportReferencesGraph. Every builder ends with a shell builtin, never
# exec'ing its last command (Nix 2.8 kills such builds).
let
  mk = name: script: derivation {
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "${script}; exit 0" ];
    PATH = "/usr/bin:/bin";
  };
  leaf = mk "fuzz-seed-leaf" "printf 'hello\\n' > $out";
  exe = mk "fuzz-seed-exe" "printf '#!/bin/sh\\necho hi\\n' > $out; chmod +x $out";
  top = mk "fuzz-seed-top" "mkdir $out; echo ${exe} > $out/exe; ln -s ${leaf} $out/leaf";
  attrs = derivation {
    name = "fuzz-seed-attrs";
    system = "x86_64-linux";
    builder = "/bin/bash";
    args = [ "-c" "source .attrs.sh; mkdir \${outputs[out]}; cp .attrs.json \${outputs[out]}/attrs.json; exit 0" ];
    PATH = "/usr/bin:/bin";
    __structuredAttrs = true;
    exportReferencesGraph.closure = [ top ];
  };
in { inherit top attrs; }
