# The machine every VM test starts from: UEFI firmware with Secure Boot
# support in setup mode (no keys enrolled), systemd in the initrd, and the
# module on without keys, as a user's first install (README, "Using it on
# NixOS", step 2). Its specialisation "signed" is the same configuration
# once the keys exist (step 5); the tests make it the next generation.
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
  boot.loader.timeout = 1;

  boot.verifiedBoot = {
    enable = true;
    secureBoot.allowUnsigned = true;
    # The image builder that runs the first install has no Nix database
    # for the system's closure: hash the store instead.
    closureCheck.manifestFrom = "hash";
  };

  specialisation.signed.configuration = ./signed.nix;

  environment.systemPackages = [
    pkgs.openssl
    pkgs.jq
  ];
}
