# Evaluates flake.nix's outputs with nixpkgs' lib alone: the nixpkgs input
# is a stand-in whose packages are the stubs of nixos-stubs.nix, so the
# outputs' names, the overlay and nixosModules.default can be checked where
# nixpkgs cannot be fetched.
#
#   nix-instantiate --eval --strict --json nix/testdata/eval-flake.nix --arg lib 'import /path/to/nixpkgs/lib'
{ lib }:
let
  flake = import ../../flake.nix;
  stubs = import ./nixos-stubs.nix { inherit lib; };
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems (system: stubs.pkgs // { nixfmt-tree = "nixfmt-tree"; });
  };
  self = outputs // {
    outPath = ../..;
  };
  outputs = flake.outputs { inherit self nixpkgs; };
  module = import ./eval-module.nix {
    inherit lib;
    module = outputs.nixosModules.default;
    modules = [
      {
        boot.verifiedBoot.enable = true;
        boot.verifiedBoot.secureBoot.allowUnsigned = true;
      }
    ];
  };
in
{
  description = flake.description;
  inputs = lib.mapAttrs (_: i: i.url) flake.inputs;
  outputs = builtins.attrNames outputs;
  packages = lib.mapAttrs (_: builtins.attrNames) outputs.packages;
  checks = lib.mapAttrs (_: builtins.attrNames) outputs.checks;
  # The VM tests as runNixOSTest receives them (name and Python script).
  vmTests = builtins.removeAttrs outputs.checks.x86_64-linux [ "package" ];
  formatter = builtins.attrNames outputs.formatter;
  overlay = builtins.attrNames (outputs.overlays.default stubs.pkgs stubs.pkgs);
  moduleAssertions = module.failedAssertions;
  moduleHook = module.installHook;
  moduleConfig = module.installConfig;
}
