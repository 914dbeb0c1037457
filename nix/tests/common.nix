# The machine every VM test starts from: UEFI firmware with Secure Boot
# support in setup mode (no keys enrolled), systemd in the initrd, and the
# module on with key files that do not exist yet, as a user's first install.
{ pkgs, ... }:
{
  virtualisation = {
    useBootLoader = true;
    useEFIBoot = true;
    useSecureBoot = true;
    efi.OVMF = pkgs.OVMFFull.fd;
    # The store's writable layer on the disk, not in memory: a file changed
    # in the store must still be changed after a reboot.
    writableStoreUseTmpfs = false;
  };

  boot.initrd.systemd.enable = true;

  boot.verifiedBoot = {
    enable = true;
    secureBoot = {
      privateKey = "/var/lib/nix-boot-security/keys/db/db.key";
      certificate = "/var/lib/nix-boot-security/keys/db/db.pem";
      # The first install (while the disk image is built) has no keys yet.
      allowUnsigned = true;
    };
    # The image builder that runs the first install has no Nix database
    # for the system's closure: hash the store instead.
    closureCheck.manifestFrom = "hash";
  };

  environment.systemPackages = [
    pkgs.openssl
    pkgs.jq
  ];
}
