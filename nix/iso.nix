# A NixOS installer ISO that boots with Secure Boot through shim and opens
# its store through dm-verity, built by `nix-uki iso` (README, "Secure
# Boot ISO"). Use it instead of nixpkgs' iso-image.nix:
#
#   imports = [ ./nix/iso.nix ];
#   boot.verifiedBoot.iso = {
#     enable = true;
#     package = pkgs.nix-boot-security;
#     shim = ./shimx64.efi.signed;            # Microsoft-signed shim (optional)
#     secureBoot.privateKey = "/var/lib/nix-boot-security/keys/mok/mok.key";
#     secureBoot.certificate = "/var/lib/nix-boot-security/keys/mok/mok.pem";
#   };
#
# then run the script `config.system.build.verifiedIsoBuilder OUTPUT.iso`
# on the machine that holds the key. The image is signed there, outside any
# derivation, so the key never enters the Nix store or a build sandbox; the
# script's inputs (kernel, initrd, closure, stub, shim) are all store paths,
# and `nix-uki iso` gives the same bytes for the same inputs.
#
# At boot the scripted initrd runs `nix-closure-verify boot` after the
# devices are up: it finds the ISO by the volume label and UUID on the
# UKI's signed command line, mounts it read-only, opens nix-store.squashfs
# through dm-verity against the signed root hash, and leaves
# /dev/mapper/nix-store for stage 1 to mount as /nix/.ro-store under the
# writable overlay that is /nix/store, as iso-image.nix does with its
# squashfs.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkEnableOption
    mkOption
    mkIf
    types
    ;
  cfg = config.boot.verifiedBoot.iso;
  inStore = p: lib.hasPrefix builtins.storeDir (toString p);
  labelOK = builtins.match "[A-Za-z0-9_.-]{1,32}" cfg.volumeLabel != null;
  closure = pkgs.closureInfo { rootPaths = [ config.system.build.toplevel ]; };
  kernel = "${config.boot.kernelPackages.kernel}/${config.system.boot.loader.kernelFile}";
  initrd = "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}";
  cmdline = lib.concatStringsSep " " (
    [ "init=${config.system.build.toplevel}/init" ] ++ config.boot.kernelParams
  );
  args = [
    "--stub"
    cfg.stub
    "--linux"
    kernel
    "--initrd"
    initrd
    "--cmdline"
    cmdline
    "--os-release"
    "@${config.environment.etc."os-release".source}"
    "--closure-info"
    "${closure}"
    "--volume-label"
    cfg.volumeLabel
    "--source-date-epoch"
    (toString cfg.sourceDateEpoch)
    "--secureboot-private-key"
    cfg.secureBoot.privateKey
    "--secureboot-certificate"
    cfg.secureBoot.certificate
  ]
  ++ lib.optionals (cfg.shim != null) [
    "--shim"
    "${cfg.shim}"
  ]
  ++ lib.optionals (cfg.mokManager != null) [
    "--mok-manager"
    "${cfg.mokManager}"
  ]
  ++ lib.concatMap (e: [
    "--sbat"
    e
  ]) cfg.sbat;
in
{
  options.boot.verifiedBoot.iso = {
    enable = mkEnableOption "an installer ISO with a signed UKI and a dm-verity store image, built by nix-uki iso";
    package = mkOption {
      type = types.package;
      description = "The nix-boot-security package (nix-uki, nix-closure-verify).";
    };
    volumeLabel = mkOption {
      type = types.str;
      default = "NIXOS_ISO";
      description = "ISO volume label: 1 to 32 of A-Z a-z 0-9 _ - . (the initrd finds the medium by it and by a UUID derived from the store's root hash).";
    };
    sourceDateEpoch = mkOption {
      type = types.ints.unsigned;
      default = 315532800;
      description = "Date given to every file of the ISO (SOURCE_DATE_EPOCH).";
    };
    stub = mkOption {
      type = types.path;
      default = "${config.systemd.package}/lib/systemd/boot/efi/linuxx64.efi.stub";
      defaultText = lib.literalExpression ''"''${config.systemd.package}/lib/systemd/boot/efi/linuxx64.efi.stub"'';
      description = "The systemd-stub the UKI is built from.";
    };
    shim = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "shim's Microsoft-signed image, as EFI/BOOT/BOOTX64.EFI (the UKI becomes grubx64.efi and must be signed by a key in MokList or shim's vendor certificate). null boots the UKI directly (its key in db).";
    };
    mokManager = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "MokManager (mmx64.efi) next to shim, to enroll the certificate at the console.";
    };
    sbat = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Extra SBAT entries for the UKI (nix-uki --sbat); the shim-review entries are added by default.";
    };
    onFailure = mkOption {
      type = types.enum [
        "halt"
        "shell"
      ];
      default = "halt";
      description = "What the initrd does when the medium or its store image cannot be verified.";
    };
    mediumWait = mkOption {
      type = types.ints.between 1 3600;
      default = 60;
      description = "Seconds the initrd waits for the medium to appear.";
    };
    secureBoot = {
      privateKey = mkOption {
        type = types.str;
        description = "Path of the signing key, outside the Nix store, read when the builder script runs. A string, not a path: a path would be copied into the store.";
      };
      certificate = mkOption {
        type = types.str;
        description = "Path of the signing certificate (PEM), read with the key.";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = labelOK;
        message = "boot.verifiedBoot.iso.volumeLabel must be 1 to 32 of A-Z a-z 0-9 _ - . (got ${cfg.volumeLabel})";
      }
      {
        assertion = !(inStore cfg.secureBoot.privateKey);
        message = "boot.verifiedBoot.iso.secureBoot.privateKey is in the Nix store, readable by every user: keep it outside";
      }
      {
        assertion = !config.boot.initrd.systemd.enable;
        message = "boot.verifiedBoot.iso needs the scripted initrd (boot.initrd.systemd.enable = false)";
      }
    ];

    boot.kernelParams = [
      "nix-closure-verify.on-failure=${cfg.onFailure}"
      "nix-closure-verify.medium-wait=${toString cfg.mediumWait}"
      "nix-closure-verify.store-mount=off"
    ];
    boot.initrd.availableKernelModules = [
      "isofs"
      "loop"
      "dm_mod"
      "dm_verity"
      "squashfs"
      "overlay"
      "sr_mod"
      "ahci"
      "ata_piix"
      "usb_storage"
      "uas"
      "sd_mod"
      "xhci_pci"
      "ehci_pci"
      "virtio_pci"
      "virtio_blk"
    ];
    boot.initrd.kernelModules = [
      "loop"
      "dm_verity"
      "isofs"
      "squashfs"
      "overlay"
    ];
    boot.initrd.extraUtilsCommands = ''
      copy_bin_and_libs ${cfg.package}/bin/nix-closure-verify
    '';
    # Before stage 1 mounts anything: the store it mounts must be the
    # verified one. On failure the check acts itself (halt powers off).
    boot.initrd.postDeviceCommands = ''
      nix-closure-verify boot || fail
    '';

    fileSystems = lib.mkImageMediaOverride {
      "/" = {
        fsType = "tmpfs";
        options = [ "mode=0755" ];
      };
      "/nix/.ro-store" = {
        fsType = "squashfs";
        device = "/dev/mapper/nix-store";
        options = [ "ro" ];
        neededForBoot = true;
      };
      "/nix/.rw-store" = {
        fsType = "tmpfs";
        options = [ "mode=0755" ];
        neededForBoot = true;
      };
      "/nix/store" = {
        fsType = "overlay";
        device = "overlay";
        options = [
          "lowerdir=/nix/.ro-store"
          "upperdir=/nix/.rw-store/store"
          "workdir=/nix/.rw-store/work"
        ];
        depends = [
          "/nix/.ro-store"
          "/nix/.rw-store/store"
          "/nix/.rw-store/work"
        ];
      };
    };

    system.build.verifiedIsoBuilder = pkgs.writeShellScript "nix-boot-security-iso" ''
      set -eu
      if [ $# -ne 1 ]; then
        echo "usage: $0 OUTPUT.iso" >&2
        exit 2
      fi
      export PATH=${
        lib.makeBinPath [
          pkgs.squashfsTools
          pkgs.dosfstools
          pkgs.mtools
          pkgs.xorriso
        ]
      }:$PATH
      exec ${cfg.package}/bin/nix-uki iso ${lib.escapeShellArgs args} --output "$1"
    '';
  };
}
