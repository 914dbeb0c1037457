# Evaluates nix/module.nix (or another module, such as the flake's
# nixosModules.default) with the real module system against the stubs of
# nixos-stubs.nix, and returns what the tests compare:
#
#   nix-instantiate --eval --strict --json nix/testdata/eval-module.nix \
#     --arg lib 'import /path/to/nixpkgs/lib' \
#     --arg modules '[ { boot.verifiedBoot.enable = true; ... } ]' -A installConfig
{
  lib,
  modules,
  module ? ../module.nix,
}:
let
  stubs = import ./nixos-stubs.nix { inherit lib; };
  eval = lib.evalModules {
    modules = [
      stubs.module
      module
      { _module.args.pkgs = stubs.pkgs; }
    ]
    ++ modules;
  };
  c = eval.config;
in
{
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);

  # The install configuration file, byte for byte.
  installConfig = c.boot.verifiedBoot.installConfigFile.text;

  installHook = c.boot.loader.external.installHook.text;

  loader = {
    inherit (c.boot.loader.external) enable;
    installBootLoader =
      if c.system.build ? installBootLoader then "${c.system.build.installBootLoader}" else null;
    grub = c.boot.loader.grub.enable;
    systemd-boot = c.boot.loader.systemd-boot.enable;
  };

  initrd = {
    systemdUnit = c.boot.initrd.systemd.services.nix-closure-verify or null;
    inherit (c.boot.initrd.systemd) storePaths;
    inherit (c.boot.initrd)
      extraUtilsCommands
      extraUtilsCommandsTest
      postDeviceCommands
      postMountCommands
      availableKernelModules
      ;
  };

  systemPackages = map toString c.environment.systemPackages;
}
