package nixtest

import _ "embed"

// Expression builds trees with every shape NAR has to get right: names that
// sort oddly ("..b", ".a", "A" before "a"), unicode, spaces, a 255-byte name,
// empty files and directories, dangling and directory symlinks, deep nesting,
// executables, sizes around the 8-byte padding, a file larger than the copy
// buffer, a top level that is a single file or a symlink, and references.
var Expression = `
let
  inherit (` + Builders + `) mk mkAttrs;
  leafFile = mk "leaf-file" "printf 'hello\n' > $out";
  leafExe = mk "leaf-exe" "printf '#!/bin/sh\necho hi\n' > $out; chmod +x $out";
  leafLink = mk "leaf-link" "ln -s /nowhere/at/all $out";
  odd = mk "odd-tree" ''
    set -e
    mkdir -p $out/empty-dir $out/sub
    cd $out
    printf x > ..b; printf x > .a; printf x > a; printf x > A; printf x > b..
    printf 'unicode' > "$(printf 'gr\303\274\303\237e-\346\227\245\346\234\254')"
    printf 'space' > 'with space'; printf tab > "$(printf 'tab\there')"
    long=$(printf 'n%.0s' $(seq 255)); printf long > "$long"
    : > empty-file
    printf 1234567 > seven; printf 12345678 > eight; printf 123456789 > nine
    head -c 700000 /dev/zero | tr '\0' 'z' > big
    printf '#!/bin/sh\n' > sub/run; chmod 755 sub/run
    ln -s ../nowhere dangling; ln -s sub dirlink; ln -s ${leafFile} storelink
    d=deep; for i in $(seq 40); do d=$d/d$i; done; mkdir -p $d; printf bottom > $d/f
    echo ${leafExe} ${leafLink} > refs
  '';
  top = mk "top" "mkdir $out; echo ${odd} > $out/odd; ln -s ${leafFile} $out/leaf";
  attrs = mkAttrs "attrs" { exportReferencesGraph.closure = [ top ]; }
    "mkdir \${outputs[out]}; cp .attrs.json \${outputs[out]}/attrs.json";
in { inherit top attrs leafFile leafExe leafLink odd; }
`

// Builders is builders.nix: an attribute set with mk and mkAttrs, the helpers
// every fixture derivation goes through (examples/closure.nix imports the
// same file). Its comment says why each script ends with `exit 0`.
//
//go:embed builders.nix
var Builders string
