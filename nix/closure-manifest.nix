# The closure manifest of `root` (for example a NixOS system's toplevel),
# recorded at build time inside a derivation: exportReferencesGraph hands
# the closure with Nix's own NAR hashes to `nix-closure-verify manifest`.
# The output is the manifest file; `nix-uki build --closure-manifest` embeds
# it in the signed UKI and puts its digest on the kernel command line.
#
#   import ./closure-manifest.nix {
#     nix-closure-verify = <a derivation or store path with bin/nix-closure-verify>;
#     root = config.system.build.toplevel;
#     bash = "${pkgs.bash}/bin/bash";   # the builder; a host path works only without a sandbox
#   }
#
# The builder needs nothing but bash and nix-closure-verify (no coreutils).
# The script ends with bash's own `exit 0` (after -e has stopped it on any
# failure): Nix 2.8 kills the builder when its log pipe closes, so the last
# program must not be exec'd in bash's place (see internal/nixtest).
{ nix-closure-verify, root, bash, system ? builtins.currentSystem }:
derivation {
  name = "closure-manifest";
  inherit system;
  builder = bash;
  __structuredAttrs = true;
  exportReferencesGraph.closure = [ root ];
  args = [ "-euc" ''
    source "''${NIX_ATTRS_SH_FILE:-.attrs.sh}"
    ${nix-closure-verify}/bin/nix-closure-verify manifest \
      --attrs "''${NIX_ATTRS_JSON_FILE:-.attrs.json}" --output "''${outputs[out]}"
    exit 0
  '' ];
}
