# Evaluates nix/iso.nix with the real module system (nixpkgs' lib alone)
# against stand-ins for the NixOS options it sets and reads, declared with
# the types NixOS gives them, and returns what nix/iso_test.go compares:
#
#   nix-instantiate --eval --strict --json nix/testdata/eval-iso.nix \
#     --arg lib 'import /path/to/nixpkgs/lib' --arg modules '[ { ... } ]'
{ lib, modules }:
let
  inherit (lib) mkOption types;
  sp = name: "/nix/store/00000000000000000000000000000000-${name}";
  pkg = name: {
    type = "derivation";
    name = name;
    outPath = sp name;
  };
  stubs = {
    options = {
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      boot.kernelParams = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      boot.initrd.availableKernelModules = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      boot.initrd.kernelModules = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      boot.initrd.extraUtilsCommands = mkOption {
        type = types.lines;
        default = "";
      };
      boot.initrd.postDeviceCommands = mkOption {
        type = types.lines;
        default = "";
      };
      boot.initrd.systemd.enable = mkOption {
        type = types.bool;
        default = false;
      };
      boot.kernelPackages = mkOption {
        type = types.raw;
        default.kernel = pkg "linux";
      };
      system.boot.loader.kernelFile = mkOption {
        type = types.str;
        default = "bzImage";
      };
      system.boot.loader.initrdFile = mkOption {
        type = types.str;
        default = "initrd";
      };
      systemd.package = mkOption {
        type = types.package;
        default = pkg "systemd";
      };
      environment.etc = mkOption {
        type = types.attrsOf (types.submodule { options.source = mkOption { type = types.path; }; });
        default."os-release".source = sp "os-release";
      };
      fileSystems = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = {
              fsType = mkOption { type = types.str; };
              device = mkOption {
                type = types.nullOr types.str;
                default = null;
              };
              options = mkOption {
                type = types.nonEmptyListOf types.str;
                default = [ "defaults" ];
              };
              neededForBoot = mkOption {
                type = types.bool;
                default = false;
              };
              depends = mkOption {
                type = types.listOf types.str;
                default = [ ];
              };
            };
          }
        );
        default = { };
      };
      system.build = mkOption {
        type = types.submoduleWith {
          modules = [ { freeformType = types.lazyAttrsOf (types.uniq types.unspecified); } ];
        };
        default = { };
      };
    };
    config.system.build = {
      toplevel = pkg "nixos-system";
      initialRamdisk = pkg "initrd";
    };
  };
  pkgs = {
    closureInfo = { rootPaths }: pkg "closure-info";
    writeShellScript = name: text: text;
    squashfsTools = pkg "squashfs";
    dosfstools = pkg "dosfstools";
    mtools = pkg "mtools";
    xorriso = pkg "xorriso";
  };
  eval = lib.evalModules {
    modules = [
      stubs
      ../iso.nix
      { _module.args.pkgs = pkgs; }
    ]
    ++ modules;
  };
  c = eval.config;
in
{
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
  inherit (c.boot) kernelParams;
  inherit (c.boot.initrd)
    availableKernelModules
    kernelModules
    extraUtilsCommands
    postDeviceCommands
    ;
  inherit (c) fileSystems;
  builder = c.system.build.verifiedIsoBuilder or null;
}
