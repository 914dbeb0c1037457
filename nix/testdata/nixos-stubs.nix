# The NixOS options nix/module.nix reads and sets, declared with the types
# NixOS gives them (nixpkgs file named beside each), and a stand-in for the
# few nixpkgs functions it calls. Evaluating our module with lib.evalModules
# against these checks it with the real module system where nixpkgs itself
# is not available (see eval-module.nix).
#
# Where nixpkgs' type is built from NixOS-only helpers (the systemd unit
# submodules of nixos/lib/systemd-unit-options.nix, the initrd store path
# type of nixos/lib/systemd-types.nix), the declaration keeps the options
# our module sets, each with its nixpkgs type.
{ lib }:
let
  inherit (lib) mkOption types;

  # A stand-in derivation: a fixed store path named from its contents, so
  # the golden files do not change from one machine to another.
  fakeDrv =
    name: attrs:
    {
      type = "derivation";
      inherit name;
      outPath = "${builtins.storeDir}/${builtins.substring 0 32 (builtins.hashString "sha256" (name + (attrs.text or "")))}-${name}";
    }
    // attrs;

  # nixos/lib/systemd-unit-options.nix: unitOption (a value or a list of
  # values; lists from several definitions are concatenated).
  unitValue = types.oneOf [
    types.bool
    types.int
    types.str
    types.path
  ];
  unitOption = types.either unitValue (types.listOf unitValue);

  # nixos/lib/systemd-unit-options.nix: commonUnitOptions and serviceOptions,
  # the ones nix/module.nix sets.
  serviceModule = {
    options = {
      enable = mkOption {
        type = types.bool;
        default = true;
      };
      description = mkOption {
        type = types.singleLineStr;
        default = "";
      };
      requiredBy = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      wantedBy = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      after = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      before = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      unitConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
      serviceConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
    };
  };
in
{
  pkgs = {
    # pkgs/build-support/trivial-builders: the text is kept to be read back.
    writeText = name: text: fakeDrv name { inherit text; };
    writeShellScript = name: text: fakeDrv name { text = "#!/bin/sh\n" + text; };
    # Names the version it was given, so a test can tell the flake's
    # package from the module's default.
    callPackage = _fn: args: fakeDrv "nix-boot-security-${args.version or "default"}" { };
    # nixpkgs' testers.runNixOSTest: what a test is made of, for reading back.
    testers.runNixOSTest = test: {
      inherit (test) name testScript;
      machineImports = builtins.length test.nodes.machine.imports;
    };
    stdenv.hostPlatform = {
      system = "x86_64-linux";
      efiArch = "x64";
    };
    systemd = fakeDrv "systemd-258" { };
    util-linux = fakeDrv "util-linux-2.41" { };
  };

  module =
    { config, pkgs, ... }:
    {
      options = {
        # nixos/modules/misc/assertions.nix
        assertions = mkOption {
          type = types.listOf types.unspecified;
          internal = true;
          default = [ ];
        };
        warnings = mkOption {
          type = types.listOf types.str;
          internal = true;
          default = [ ];
        };

        # nixos/modules/system/boot/loader/external/external.nix
        boot.loader.external = {
          enable = lib.mkEnableOption "using an external tool to install your bootloader";
          installHook = mkOption { type = types.path; };
        };

        # nixos/modules/system/boot/loader/efi.nix
        boot.loader.efi = {
          canTouchEfiVariables = mkOption {
            type = types.bool;
            default = false;
          };
          efiSysMountPoint = mkOption {
            type = types.str;
            default = "/boot";
          };
        };

        # nixos/modules/system/boot/loader/loader.nix
        boot.loader.timeout = mkOption {
          type = types.nullOr types.int;
          default = 5;
        };

        # nixos/modules/system/boot/loader/grub/grub.nix
        boot.loader.grub.enable = mkOption {
          type = types.bool;
          default = true;
        };

        # nixos/modules/system/boot/loader/systemd-boot/systemd-boot.nix
        boot.loader.systemd-boot.enable = lib.mkEnableOption "the systemd-boot (formerly gummiboot) EFI boot manager";
        boot.loader.systemd-boot.xbootldrMountPoint = mkOption {
          type = types.nullOr types.str;
          default = null;
        };

        # nixos/modules/system/activation/bootspec.nix
        boot.bootspec.enable = lib.mkEnableOption "the generation of RFC-0125 bootspec in $system/boot.json" // {
          default = true;
          internal = true;
        };

        # nixos/modules/system/boot/systemd/initrd.nix
        boot.initrd.systemd = {
          enable = lib.mkEnableOption "systemd in initrd";
          services = mkOption {
            type = types.attrsOf (types.submodule serviceModule);
            default = { };
          };
          # systemdUtils.types.initrdStorePath: a list of strings or
          # packages (coerced to { source = ...; }).
          storePaths = mkOption {
            type = types.listOf (types.either types.singleLineStr types.package);
            default = [ ];
          };
        };

        # nixos/modules/system/boot/stage-1.nix
        boot.initrd.extraUtilsCommands = mkOption {
          type = types.lines;
          default = "";
          internal = true;
        };
        boot.initrd.extraUtilsCommandsTest = mkOption {
          type = types.lines;
          default = "";
          internal = true;
        };
        boot.initrd.postDeviceCommands = mkOption {
          type = types.lines;
          default = "";
        };
        boot.initrd.postMountCommands = mkOption {
          type = types.lines;
          default = "";
        };

        # nixos/modules/system/boot/kernel.nix
        boot.initrd.availableKernelModules = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };

        # nixos/modules/config/system-path.nix
        environment.systemPackages = mkOption {
          type = types.listOf types.package;
          default = [ ];
        };

        # nixos/modules/system/boot/systemd.nix (mkPackageOption pkgs "systemd")
        systemd.package = mkOption {
          type = types.package;
          default = pkgs.systemd;
        };

        # nixos/modules/system/activation/top-level.nix
        system.build = mkOption {
          type = types.submoduleWith {
            modules = [ { freeformType = types.lazyAttrsOf (types.uniq types.unspecified); } ];
          };
          default = { };
        };
      };

      # nixos/modules/system/boot/loader/external/external.nix: what turning
      # the external installer on does.
      config = lib.mkIf config.boot.loader.external.enable {
        boot.loader.grub.enable = lib.mkDefault false;
        boot.loader.systemd-boot.enable = lib.mkDefault false;
        system.build.installBootLoader = config.boot.loader.external.installHook;
      };
    };
}
