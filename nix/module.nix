# NixOS module: signed UKIs with closure manifests on the ESP at every
# `nixos-rebuild boot|switch`, and the store checked from the initrd.
#
# The module stays thin: it turns its options into one JSON file (the
# install configuration, version 1, read by `nix-uki install --config`; its
# fields are documented in pkg/install) and adds the static
# nix-closure-verify to the initrd. Every rule lives in the Go tools.
#
# Keys never enter the store: the private keys are strings naming a file
# outside it (or a pkcs11:/tpm: URI); a Nix path literal, or any path in the
# store directory, is refused by an assertion.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.boot.verifiedBoot;
  inherit (lib) mkOption types;

  storePrefix = builtins.storeDir + "/";

  # A key reference as the tools take it: an absolute file name or a URI of
  # a token or TPM key.
  isUri = s: lib.hasPrefix "pkcs11:" s || lib.hasPrefix "tpm:" s;

  # Assertions for one private key option; a path literal would be copied
  # into the world-readable store by the first interpolation.
  keyAssertions =
    option: key:
    lib.optionals (key != null) [
      {
        assertion = !builtins.isPath key;
        message = "${option} is a Nix path literal (${toString key}), which would copy the private key into the world-readable ${builtins.storeDir}; give it as a string: \"${toString key}\".";
      }
      {
        assertion = builtins.isPath key || !lib.hasPrefix storePrefix key;
        message = "${option} = \"${toString key}\" is in ${builtins.storeDir}, which every user can read; keep private keys outside the store (for example under /var/lib/nix-boot-security/keys) or on a token (pkcs11:...).";
      }
      {
        assertion = builtins.isPath key || lib.hasPrefix "/" key || isUri key;
        message = "${option} = \"${toString key}\" is neither an absolute file name nor a pkcs11: or tpm: URI.";
      }
    ];

  # Key strings go into the configuration as they are (never through a
  # path, which would copy them into the store); public files given as path
  # literals are copied into the store on purpose.
  keyString = key: if key == null then null else toString key;
  publicFile = file: if file == null then null else if builtins.isPath file then "${file}" else file;

  loaderValue =
    v:
    if builtins.isBool v then
      (if v then "yes" else "no")
    else if builtins.isInt v then
      toString v
    else
      v;

  # The root the initrd mounts the system on: systemd's initrd uses /sysroot,
  # NixOS's scripted stage 1 uses /mnt-root.
  initrdRoot = if config.boot.initrd.systemd.enable then "/sysroot" else "/mnt-root";

  image = cfg.storeImage;

  # Words for the signed command line: the installer turns the
  # nix-closure-verify.* words into the signed settings beside the manifest.
  checkParams =
    lib.optionals cfg.closureCheck.enable (
      [ "nix-closure-verify.root=${initrdRoot}" ]
      ++ lib.optionals image.enable (
        [
          "nix-closure-verify.store=off"
          "nix-closure-verify.image=${image.device}"
          "nix-closure-verify.root-hash=${image.rootHash}"
          "nix-closure-verify.name=${image.name}"
        ]
        ++ lib.optional (image.hashDevice != null) "nix-closure-verify.hash-device=${image.hashDevice}"
        ++ lib.optional (image.hashOffset != null) "nix-closure-verify.hash-offset=${toString image.hashOffset}"
      )
    );

  installConfig = {
    version = 1;
    esps = [ config.boot.loader.efi.efiSysMountPoint ] ++ cfg.extraEfiSysMountPoints;
    xbootldr = cfg.xbootldrMountPoint;
    profiles = "/nix/var/nix/profiles";
    stub = cfg.stub;
    systemdBoot = cfg.systemdBoot;
    secureBoot = {
      privateKey = keyString cfg.secureBoot.privateKey;
      certificate = publicFile cfg.secureBoot.certificate;
      allowUnsigned = cfg.secureBoot.allowUnsigned;
    };
    configurationLimit = cfg.configurationLimit;
    loader = lib.mapAttrs (_: loaderValue) (lib.filterAttrs (_: v: v != null) cfg.settings);
    sortKey = cfg.sortKey;
    bootCounting.tries = cfg.bootCounting.tries;
    closureCheck = {
      inherit (cfg.closureCheck)
        enable
        onFailure
        jobs
        manifestFrom
        fsverity
        ;
    };
    measuredBoot =
      if cfg.measuredBoot.enable then
        {
          pcrPrivateKey = keyString cfg.measuredBoot.pcrPrivateKey;
          pcrPublicKey = publicFile cfg.measuredBoot.pcrPublicKey;
          inherit (cfg.measuredBoot) banks phases;
        }
      else
        null;
    extraKernelParams = cfg.extraKernelParams ++ checkParams;
  };

  installConfigFile = pkgs.writeText "nix-boot-security-install.json" (builtins.toJSON installConfig);

  installCommand = ''exec ${cfg.package}/bin/nix-uki install --config ${installConfigFile} "$@"'';

  # Enabling fs-verity writes through the store's mount, which NixOS keeps
  # read-only: with fsverity the installer runs in a private mount
  # namespace where the store is writable, as nix-daemon does for builds;
  # the rest of the system keeps its read-only store.
  util = "${pkgs.util-linux}/bin";
  installHook = pkgs.writeShellScript "nix-boot-security-install" (
    if cfg.closureCheck.enable && cfg.closureCheck.fsverity then
      ''
        if [ -z "$NIX_BOOT_SECURITY_PRIVATE_NS" ]; then
          NIX_BOOT_SECURITY_PRIVATE_NS=1 exec ${util}/unshare --mount --propagation private -- "$0" "$@"
        fi
        if ${util}/mountpoint -q /nix/store; then
          ${util}/mount -o remount,bind,rw /nix/store
        fi
        ${installCommand}
      ''
    else
      ''
        ${installCommand}
      ''
  );

  verifier = "${cfg.package}/bin/nix-closure-verify";

  # systemd in the initrd: as soon as the store is mounted under /sysroot,
  # before anything is mounted or run from it (file systems NixOS builds in
  # the store such as the /etc overlay, finding and activating the system),
  # and before switching root. Units that run the system require it, so a
  # failed check (on-failure=fail) leaves them not started. A store image
  # is opened instead before the store is mounted from it.
  unit = {
    description = "Check the Nix store against the signed closure manifest";
    requiredBy = [
      "initrd.target"
      "initrd-nixos-activation.service"
      "initrd-switch-root.target"
    ];
    after = lib.optional image.enable "initrd-root-fs.target";
    before = [
      "initrd-fs.target"
      "initrd-find-nixos-closure.service"
      "initrd-nixos-activation.service"
      "initrd.target"
      "initrd-switch-root.target"
    ]
    ++ lib.optional image.enable "sysroot-nix-store.mount";
    unitConfig = {
      AssertPathExists = "/etc/initrd-release";
    }
    // lib.optionalAttrs (!image.enable) { RequiresMountsFor = "/sysroot/nix/store"; };
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = "${verifier} boot";
      # A large store takes what it takes; the check must never be cut
      # short by a timer.
      TimeoutStartSec = "infinity";
    }
    // (
      if cfg.closureCheck.onFailure == "shell" then
        {
          # The emergency shell needs the console for input.
          StandardInput = "tty-force";
          StandardOutput = "tty";
          StandardError = "tty";
          TTYPath = "/dev/console";
        }
      else
        {
          StandardOutput = "journal+console";
          StandardError = "journal+console";
        }
    );
  };

  # The scripted stage 1 (stage-1-init.sh): the same check as a hook; `fail`
  # is stage 1's own failure prompt, reached with on-failure=fail.
  scriptedCheck = ''
    nix-closure-verify boot || fail
  '';
in
{
  options.boot.verifiedBoot = {
    enable = lib.mkEnableOption "signed Unified Kernel Images with closure manifests, installed by nix-uki, and the store checked at boot";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { }";
      description = "The package with nix-uki and nix-closure-verify.";
    };

    extraEfiSysMountPoints = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "/boot2" ];
      description = "Further EFI system partitions to install to, beside {option}`boot.loader.efi.efiSysMountPoint` (mirrored disks).";
    };

    xbootldrMountPoint = mkOption {
      type = types.nullOr types.str;
      default = config.boot.loader.systemd-boot.xbootldrMountPoint;
      defaultText = lib.literalExpression "config.boot.loader.systemd-boot.xbootldrMountPoint";
      example = "/boot";
      description = "Where an XBOOTLDR partition is mounted; the UKIs go there instead of the ESP's EFI/Linux (with the ESP mounted elsewhere, for example /efi).";
    };

    stub = mkOption {
      type = types.str;
      default = "${config.systemd.package}/lib/systemd/boot/efi/linux${pkgs.stdenv.hostPlatform.efiArch}.efi.stub";
      defaultText = lib.literalExpression ''"''${config.systemd.package}/lib/systemd/boot/efi/linux''${pkgs.stdenv.hostPlatform.efiArch}.efi.stub"'';
      description = "The systemd-stub every UKI is built on.";
    };

    systemdBoot = mkOption {
      type = types.str;
      default = "${config.systemd.package}/lib/systemd/boot/efi/systemd-boot${pkgs.stdenv.hostPlatform.efiArch}.efi";
      defaultText = lib.literalExpression ''"''${config.systemd.package}/lib/systemd/boot/efi/systemd-boot''${pkgs.stdenv.hostPlatform.efiArch}.efi"'';
      description = "The systemd-boot installed (signed) on the ESP.";
    };

    secureBoot = {
      privateKey = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        example = "/var/lib/nix-boot-security/keys/db/db.key";
        description = ''
          The db key that signs systemd-boot and every UKI: a file outside
          the Nix store, given as a string, or a `pkcs11:` or `tpm:` URI. A
          Nix path literal or a path in the store is refused.
        '';
      };
      certificate = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        example = "/var/lib/nix-boot-security/keys/db/db.pem";
        description = "The certificate of {option}`boot.verifiedBoot.secureBoot.privateKey` (with any intermediates), PEM.";
      };
      allowUnsigned = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Install unsigned images, with no key set: for a first install,
          before keys are created and enrolled (then set privateKey and
          certificate and turn this off). Firmware with Secure Boot
          enforced will not boot them.
        '';
      };
    };

    configurationLimit = mkOption {
      type = types.ints.unsigned;
      default = 10;
      description = "How many of the newest generations get an entry on the ESP (0: all).";
    };

    settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (
          types.nullOr (
            types.oneOf [
              types.str
              types.int
              types.bool
            ]
          )
        );
        options = {
          timeout = mkOption {
            type = types.nullOr (types.either types.ints.unsigned types.str);
            default = if config.boot.loader.timeout == null then "menu-force" else config.boot.loader.timeout;
            defaultText = lib.literalExpression ''if config.boot.loader.timeout == null then "menu-force" else config.boot.loader.timeout'';
            description = "Seconds the menu is shown (`menu-force`: until a key is pressed).";
          };
          editor = mkOption {
            type = types.bool;
            default = false;
            description = "Allow editing the kernel command line in the boot menu. systemd-stub ignores an edited command line while Secure Boot is on; with it off, anyone at the console could replace the signed one.";
          };
          console-mode = mkOption {
            type = types.str;
            default = "keep";
            description = "systemd-boot's console-mode.";
          };
        };
      };
      default = { };
      example = {
        timeout = 3;
        console-mode = "max";
      };
      description = ''
        Settings for systemd-boot's `loader/loader.conf` (see
        loader.conf(5)); booleans are written yes/no and null leaves a key
        out. `default` is always written by the installer (the newest
        generation) and may not be set here.
      '';
    };

    sortKey = mkOption {
      type = types.strMatching "[a-z0-9._-]+";
      default = "nixos";
      description = "SORT_KEY in each UKI's os-release: systemd-boot sorts entries by it.";
    };

    bootCounting.tries = mkOption {
      type = types.ints.unsigned;
      default = 0;
      description = "Boot counting (systemd-boot's `+TRIES` in new entries' names); 0 turns it off.";
    };

    closureCheck = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Embed the generation's closure manifest in its signed UKI and check the store against it from the initrd.";
      };
      onFailure = mkOption {
        type = types.enum [
          "halt"
          "warn"
          "shell"
          "fail"
        ];
        default = "halt";
        description = ''
          What a failed check does: `halt` prints and powers off; `warn`
          prints a loud warning and boots; `shell` starts a root shell on
          the console and boots when it exits; `fail` exits with status 1
          and lets the initrd handle it: with systemd in the initrd the
          system is not activated and the emergency target is started
          (a shell only if {option}`boot.initrd.systemd.emergencyAccess`
          allows it); in the scripted stage 1, its failure prompt, whose
          "continue" boots anyway. `warn`, `shell` and the scripted `fail`
          let whoever is at the console boot a store that failed.
        '';
      };
      jobs = mkOption {
        type = types.ints.unsigned;
        default = 0;
        description = "Parallel workers for the check (0: one per CPU; four per CPU with fsverity, where the check mostly waits for reads).";
      };
      manifestFrom = mkOption {
        type = types.enum [
          "db"
          "hash"
        ];
        default = "db";
        description = "Where each generation's manifest comes from: Nix's database (`db`) or hashing the store at install time (`hash`).";
      };
      fsverity = lib.mkEnableOption ''
        fs-verity on the store: at install time, every file of each new
        generation's closure is checked against its per-file (version 2)
        manifest and frozen with fs-verity, and the check at boot compares
        the digests the kernel reports instead of reading the files, after
        which the kernel verifies every read of them. The filesystem
        holding /nix/store must support fs-verity: ext4 made with
        `mkfs.ext4 -O verity` or given the feature with `tune2fs -O verity`
        (unmounted), btrfs on a kernel with `CONFIG_FS_VERITY`; the install
        stops, writing nothing, where it does not. Files frozen by
        fs-verity can no longer be changed in place (Nix never does)
      '';
    };

    measuredBoot = {
      enable = lib.mkEnableOption "a signed PCR 11 policy (.pcrsig and .pcrpkey) in every UKI";
      pcrPrivateKey = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        example = "/var/lib/nix-boot-security/keys/pcr.key";
        description = "The key signing the PCR 11 policies, outside the store (a string) or a `pkcs11:`/`tpm:` URI.";
      };
      pcrPublicKey = mkOption {
        type = types.nullOr (types.either types.str types.path);
        default = null;
        example = "/etc/nix-boot-security/pcr.pub.pem";
        description = "Its public key, embedded as .pcrpkey (null: derived from the private key).";
      };
      banks = mkOption {
        type = types.nonEmptyListOf (
          types.enum [
            "sha1"
            "sha256"
            "sha384"
            "sha512"
          ]
        );
        default = [ "sha256" ];
        description = "PCR banks the policies are computed for.";
      };
      phases = mkOption {
        type = types.nonEmptyListOf (types.strMatching "[a-z-]+(:[a-z-]+)*");
        default = [ "enter-initrd" ];
        description = "systemd boot phase paths the policies are signed for (systemd-measure's --phase).";
      };
    };

    extraKernelParams = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Words appended to each generation's kernel parameters in its UKI (signed, unlike anything typed at boot).";
    };

    storeImage = {
      enable = lib.mkEnableOption "the store from a read-only image opened through dm-verity, with its root hash on the signed command line (appliances)";
      device = mkOption {
        type = types.str;
        example = "/dev/disk/by-partlabel/nix-store";
        description = "The store image (squashfs or erofs).";
      };
      hashDevice = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Its dm-verity hash tree (null: the image's name with .verity, or the image itself with a hash offset).";
      };
      hashOffset = mkOption {
        type = types.nullOr types.ints.unsigned;
        default = null;
        description = "Offset in bytes of the hash tree's superblock on the hash device.";
      };
      rootHash = mkOption {
        type = types.strMatching "[0-9a-f]{64}";
        description = "The image's dm-verity root hash (`nix-closure-verify image format` prints it).";
      };
      name = mkOption {
        type = types.strMatching "[A-Za-z0-9._-]+";
        default = "nix-store";
        description = "Device-mapper name: the store is then mounted from /dev/mapper/NAME (declare it in fileSystems).";
      };
    };

    installConfig = mkOption {
      type = types.attrsOf types.anything;
      internal = true;
      readOnly = true;
      description = "The install configuration the options produce.";
    };

    installConfigFile = mkOption {
      type = types.path;
      readOnly = true;
      description = "The install configuration file (JSON), for running `nix-uki install --config` by hand.";
    };
  };

  config = lib.mkMerge [
    {
      boot.verifiedBoot = {
        inherit installConfig installConfigFile;
      };
    }
    (lib.mkIf cfg.enable {
      assertions =
        keyAssertions "boot.verifiedBoot.secureBoot.privateKey" cfg.secureBoot.privateKey
        ++ keyAssertions "boot.verifiedBoot.measuredBoot.pcrPrivateKey" cfg.measuredBoot.pcrPrivateKey
        ++ [
          {
            assertion = cfg.secureBoot.allowUnsigned || cfg.secureBoot.privateKey != null || cfg.secureBoot.certificate != null;
            message = "boot.verifiedBoot.secureBoot: no signing key; set privateKey and certificate (or allowUnsigned = true for a first install, before the keys exist).";
          }
          {
            assertion = (cfg.secureBoot.privateKey == null) == (cfg.secureBoot.certificate == null);
            message = "boot.verifiedBoot.secureBoot: privateKey and certificate go together (set both, or neither with allowUnsigned for a first install).";
          }
          {
            assertion = !cfg.measuredBoot.enable || cfg.measuredBoot.pcrPrivateKey != null;
            message = "boot.verifiedBoot.measuredBoot.enable needs measuredBoot.pcrPrivateKey.";
          }
          {
            assertion = !(cfg.settings ? default);
            message = "boot.verifiedBoot.settings.default cannot be set: the installer writes it (the newest generation).";
          }
          {
            assertion = !image.enable || cfg.closureCheck.enable;
            message = "boot.verifiedBoot.storeImage needs closureCheck.enable: the initrd unit that opens the image is the check's.";
          }
          {
            assertion = !cfg.closureCheck.fsverity || (cfg.closureCheck.enable && !image.enable);
            message = "boot.verifiedBoot.closureCheck.fsverity needs closureCheck.enable and no storeImage: fs-verity digests are checked by the store check, and a store image is read-only and verified by dm-verity already.";
          }
          {
            assertion = config.boot.bootspec.enable;
            message = "boot.verifiedBoot needs boot.bootspec.enable: the installer reads each generation's boot.json.";
          }
          {
            assertion = !config.boot.loader.systemd-boot.enable && !config.boot.loader.grub.enable;
            message = "boot.verifiedBoot installs systemd-boot itself: turn boot.loader.systemd-boot.enable and boot.loader.grub.enable off.";
          }
        ];

      boot.loader.external = {
        enable = true;
        inherit installHook;
      };

      environment.systemPackages = [ cfg.package ];
    })
    (lib.mkIf (cfg.enable && cfg.closureCheck.enable && config.boot.initrd.systemd.enable) {
      boot.initrd.systemd.services.nix-closure-verify = unit;
      boot.initrd.systemd.storePaths = [ verifier ];
    })
    (lib.mkIf (cfg.enable && cfg.closureCheck.enable && !config.boot.initrd.systemd.enable) {
      boot.initrd.extraUtilsCommands = ''
        copy_bin_and_libs ${verifier}
      '';
      boot.initrd.extraUtilsCommandsTest = ''
        $out/bin/nix-closure-verify --version
      '';
      # A store image must be open before stage 1 mounts the store from it;
      # a store check needs the system mounted.
      boot.initrd.postDeviceCommands = lib.mkIf image.enable scriptedCheck;
      boot.initrd.postMountCommands = lib.mkIf (!image.enable) scriptedCheck;
    })
    (lib.mkIf (cfg.enable && image.enable) {
      boot.initrd.availableKernelModules = [
        "dm_mod"
        "dm_verity"
        "loop"
      ];
    })
  ];
}
